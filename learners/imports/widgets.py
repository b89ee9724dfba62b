"""Cells as people and LMS exports write them: formula-safe text, tidy headers, time zones in
any case, timestamps, and foreign keys given by LMS id."""

from __future__ import annotations

import datetime as dt
import functools
import re
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
    exports are UTC unless they say otherwise, and the server's own zone is no better a guess.

    ``not_after`` (set by the resource from its ``now``) refuses times further ahead than the
    activity API allows, for the same reason: a skewed clock would keep a learner "active".
    """

    not_after: dt.datetime | None = None

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
        try:
            if timezone.is_naive(parsed):
                parsed = parsed.replace(tzinfo=dt.UTC)
            parsed = parsed.astimezone(dt.UTC)
        except (OverflowError, ValueError):
            # 0001-01-01T00:00+01:00 or 9999-12-31T23:59-01:00 fall outside what can be stored.
            raise ValueError(f"{value!r} is outside the dates that can be stored.") from None
        if self.not_after is not None and parsed > self.not_after:
            raise ValueError(f"{value!r} is in the future.")
        return parsed

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
    return "_".join(str(header or "").replace("\ufeff", "").lower().split())


# Characters that neither a database text column (NUL) nor an XLSX file (the other C0 controls)
# can hold; tab, line feed and carriage return are handled apart. Lone surrogates cannot be
# encoded as UTF-8 at all.
UNSTORABLE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff]")
LINE_BREAKS = re.compile(r"\s*[\r\n]+\s*")


def unstorable_character(value: str) -> str | None:
    """A description of the first character of ``value`` that cannot be stored, if any."""
    found = UNSTORABLE.search(value)
    return f"U+{ord(found.group()):04X}" if found else None


def cell_text(value: Any) -> Any:
    """Tidy one cell: strip text, put it on one line, undo formula neutralizing, and turn the
    floats a spreadsheet makes of whole numbers (LMS id 1042 read back as 1042.0) into
    integers. Every column holds one line (a name, an id, a module title); a line break
    inside a cell is a spreadsheet artefact, and in a name it would break the greeting."""
    if isinstance(value, str):
        return LINE_BREAKS.sub(" ", restore_neutralized(value.strip()))
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def timestamp_field(attribute: str, *, readonly: bool = False) -> fields.Field:
    return fields.Field(
        attribute=attribute, column_name=attribute, widget=TimestampWidget(), readonly=readonly
    )
