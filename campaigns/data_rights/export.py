"""Export everything held about a person as one JSON document (GDPR art. 15, portable)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder

from campaigns.data_rights.policy import POLICY, covered
from campaigns.data_rights.subjects import Subject

FORMAT = "reengagement-learner-data/1"


def export_subject(*, subject: Subject, now: dt.datetime) -> dict[str, Any]:
    """Every row of every table of the policy that is about ``subject``, each with all its
    columns (foreign keys as ids), under the table's name: a query per table."""
    tables: dict[str, list[dict[str, Any]]] = {}
    for model, personal in covered():
        rows = model._default_manager.filter(subject.rows(personal)).order_by("pk").values()
        tables[personal.export_as] = [dict(row) for row in rows]
    return {
        "format": FORMAT,
        "exported_at": now,
        "identifier": subject.identifier,
        "tables": {name: tables[name] for name in (p.export_as for p in POLICY.values())},
    }


def export_json(*, subject: Subject, now: dt.datetime) -> str:
    """:func:`export_subject` as indented JSON text."""
    return json.dumps(
        export_subject(subject=subject, now=now), cls=DjangoJSONEncoder, indent=2, sort_keys=False
    )
