"""Cells as people and LMS exports write them: formula-safe text, tidy headers, time zones in
any case, timestamps, and foreign keys given by LMS id."""

from __future__ import annotations

import datetime as dt
import functools
import zoneinfo
from typing import Any

from django.db.models import Model
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from import_export import fields, widgets

# Spreadsheet programs run a cell that starts with one of these as a formula (OWASP "CSV
# injection"); tab and CR are on the list because some programs strip them and then see "=".
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def neutralize_formula(value: Any) -> Any:
    """Prefix a text cell that a spreadsheet would evaluate with ``'`` so it stays text."""
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value


def restore_neutralized(value: str) -> str:
    """Undo :func:`neutralize_formula`, so an exported file imports back unchanged."""
    if value.startswith("'") and value[1:2] and value[1] in FORMULA_TRIGGERS:
        return value[1:]
    return value


@functools.cache
def _time_zones_by_lower_name() -> dict[str, str]:
    return {name.lower(): name for name in zoneinfo.available_timezones()}


def canonical_time_zone(value: str) -> str:
    """``europe/berlin`` → ``Europe/Berlin``; unknown names are returned as given (and fail
    validation with the model's message)."""
    return _time_zones_by_lower_name().get(value.lower(), value)


class TimestampWidget(widgets.Widget):
    """Reads ISO 8601 (``2026-11-30T14:05:00Z``, ``2026-11-30 14:05``, ``2026-11-30``) and
    spreadsheet date cells; writes ISO 8601 in UTC. Times without an offset are UTC: LMS
    exports are UTC unless they say otherwise, and the server's own zone is no better a guess."""

    def clean(self, value: Any, row: Any = None, **kwargs: Any) -> dt.datetime | None:
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        if isinstance(value, dt.datetime):
            parsed: dt.datetime | None = value
        elif isinstance(value, dt.date):
            parsed = dt.datetime.combine(value, dt.time())
        else:
            text = str(value).strip()
            try:
                parsed = parse_datetime(text)
                if parsed is None and (day := parse_date(text)) is not None:
                    parsed = dt.datetime.combine(day, dt.time())
            except ValueError:
                parsed = None
        if parsed is None:
            raise ValueError(f"{value!r} is not a date and time (use e.g. 2026-11-30T14:05:00Z).")
        if timezone.is_naive(parsed):
            parsed = parsed.replace(tzinfo=dt.UTC)
        return parsed.astimezone(dt.UTC)

    def render(self, value: Any, obj: Any = None, **kwargs: Any) -> str:
        if not isinstance(value, dt.datetime):
            return ""
        return value.astimezone(dt.UTC).isoformat()


class ExternalIdWidget(widgets.Widget):
    """A foreign key given by the related row's LMS id, resolved from a dict the resource fills
    before the import starts (one query per chunk of ids instead of one per row)."""

    def __init__(self, label: str) -> None:
        super().__init__()
        self.label = label
        self.lookup: dict[str, Model] = {}

    def clean(self, value: Any, row: Any = None, **kwargs: Any) -> Model | None:
        if value is None or value == "":
            return None
        found = self.lookup.get(str(value))
        if found is None:
            raise ValueError(f"No {self.label} has the LMS id {value!r}.")
        return found

    def render(self, value: Any, obj: Any = None, **kwargs: Any) -> str:
        return "" if value is None else str(value.external_id)


def normalize_header(header: Any) -> str:
    """``" External ID "`` → ``external_id``: headers typed by people still match columns."""
    return "_".join(str(header or "").lower().split())


def cell_text(value: Any) -> Any:
    """Tidy one cell: strip text, undo formula neutralizing, and turn the floats a spreadsheet
    makes of whole numbers (LMS id 1042 read back as 1042.0) into integers."""
    if isinstance(value, str):
        return restore_neutralized(value.strip())
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def timestamp_field(attribute: str, *, readonly: bool = False) -> fields.Field:
    return fields.Field(
        attribute=attribute, column_name=attribute, widget=TimestampWidget(), readonly=readonly
    )
