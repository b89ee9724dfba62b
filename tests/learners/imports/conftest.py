"""Running an import over CSV text, as the file import does."""

from __future__ import annotations

import datetime as dt

import tablib

from learners.imports.files import ImportSummary, import_dataset
from tests.learners.conftest import NOW

LEARNER_HEADER = (
    "external_id,email,first_name,last_name,role,team,manager_email,manager_name,"
    "time_zone,locale,last_active_at"
)


def run(kind: str, text: str, *, dry_run: bool = False, now: dt.datetime = NOW) -> ImportSummary:
    dataset = tablib.Dataset().load(text, format="csv")
    return import_dataset(kind=kind, dataset=dataset, now=now, dry_run=dry_run)


def run_dataset(kind: str, dataset: tablib.Dataset, *, now: dt.datetime = NOW) -> ImportSummary:
    return import_dataset(kind=kind, dataset=dataset, now=now)
