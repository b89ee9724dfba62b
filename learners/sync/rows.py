"""Reading a learners CSV a row at a time and checking what one row can tell on its own."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from learners import phones
from learners.imports.files import RowError
from learners.imports.formats import UnreadableFile
from learners.imports.widgets import (
    TimestampWidget,
    canonical_time_zone,
    normalize_header,
    restore_neutralized,
)
from learners.models import normalize_email, validate_time_zone

# The learner columns a sync writes, in staging-table order, with their longest value.
COLUMNS: dict[str, int | None] = {
    "external_id": 100,
    "email": 254,
    "first_name": 100,
    "last_name": 100,
    "role": 100,
    "team": 100,
    "manager_email": 254,
    "manager_name": 200,
    "manager_time_zone": 64,
    "time_zone": 64,
    "locale": 20,
    "phone": 20,
    "last_active_at": None,
}
REQUIRED = ("external_id", "email")
TIMESTAMP = TimestampWidget()


@dataclass(frozen=True)
class Header:
    """Which of :data:`COLUMNS` the file has, and where."""

    positions: dict[str, int]

    @property
    def present(self) -> tuple[str, ...]:
        return tuple(column for column in COLUMNS if column in self.positions)


def read_header(row: list[str]) -> Header:
    names = [normalize_header(cell) for cell in row]
    missing = [column for column in REQUIRED if column not in names]
    if missing:
        raise UnreadableFile(
            f"The file has no {' or '.join(missing)} column (it has: {', '.join(names)}). "
            f"The columns expected: {', '.join(COLUMNS)}."
        )
    return Header({name: i for i, name in enumerate(names) if name in COLUMNS})


def _email_problem(value: str) -> str:
    try:
        validate_email(value)
    except ValidationError:
        return "Enter a valid email address."
    return ""


def _problems(cells: dict[str, str]) -> tuple[list[str], dt.datetime | None]:
    problems: list[str] = []
    for column, limit in COLUMNS.items():
        value = cells.get(column, "")
        if "\x00" in value:
            problems.append(f"{column}: The value holds a NUL character.")
        elif limit is not None and len(value) > limit:
            problems.append(
                f"{column}: Ensure this value has at most {limit} characters (it has {len(value)})."
            )
    for column in REQUIRED:
        if not cells.get(column):
            problems.append(f"{column}: This field cannot be blank.")
    if cells.get("email") and (message := _email_problem(cells["email"])):
        problems.append(f"email: {message}")
    manager = cells.get("manager_email", "")
    if manager and (message := _email_problem(manager)):
        problems.append(f"manager_email: {message}")
    elif manager and manager == cells.get("email"):
        problems.append("manager_email: A learner cannot be their own manager.")
    elif not manager and cells.get("manager_name"):
        problems.append("manager_email: A manager name needs the manager's email.")
    if not manager and cells.get("manager_time_zone"):
        problems.append("manager_time_zone: A manager time zone needs the manager's email.")
    for column in ("time_zone", "manager_time_zone"):
        zone = cells.get(column, "")
        if zone:
            try:
                validate_time_zone(zone)
            except ValidationError as exc:
                problems.append(f"{column}: {' '.join(exc.messages)}")
    active = None
    try:
        active = TIMESTAMP.clean(cells.get("last_active_at"))
    except ValueError as exc:
        problems.append(f"last_active_at: {exc}")
    return problems, active


def clean_row(header: Header, row: list[str]) -> tuple[tuple[object, ...] | None, list[str]]:
    """The staging values of one row (``None`` for absent columns), or why it is refused."""
    cells: dict[str, str] = {}
    for column, position in header.positions.items():
        value = restore_neutralized(row[position].strip()) if position < len(row) else ""
        cells[column] = value
    for column in ("email", "manager_email"):
        if column in cells:
            cells[column] = normalize_email(cells[column])
    for column in ("time_zone", "manager_time_zone"):
        if cells.get(column):
            cells[column] = canonical_time_zone(cells[column])
    phone_problem = ""
    if cells.get("phone"):
        try:
            cells["phone"] = phones.to_e164(cells["phone"])
        except phones.BadPhoneNumber as exc:
            phone_problem, cells["phone"] = f"phone: {exc}", ""
    problems, active = _problems(cells)
    if phone_problem:
        problems.append(phone_problem)
    if problems:
        return None, problems
    values: list[object] = [cells.get(column) for column in COLUMNS]
    values[-1] = active
    return tuple(values), []


def open_csv(path: Path) -> IO[str]:
    try:
        # utf-8-sig: Excel's byte-order mark is not part of the first header.
        return io.open(path, encoding="utf-8-sig", newline="")  # noqa: UP020
    except OSError as exc:
        raise UnreadableFile(f"Cannot read {path}: {exc.strerror}") from None


def rows(handle: IO[str]) -> Iterator[tuple[int, tuple[object, ...] | None, RowError | None]]:
    """``(row number, staging values, error)`` for each row after the header, numbered as a
    spreadsheet shows it (the header is row 1), as the row-by-row import numbers them."""
    reader = csv.reader(handle)
    try:
        first = next(reader, None)
        if not first:
            raise UnreadableFile("The file is empty or has no header row.")
        header = read_header(first)
        for number, row in enumerate(reader, start=2):
            if not any(cell.strip() for cell in row):
                continue
            values, problems = clean_row(header, row)
            yield number, values, RowError(number, "; ".join(problems)) if problems else None
    except UnicodeDecodeError:
        raise UnreadableFile("The file is not UTF-8 text; save the CSV as UTF-8.") from None
    except csv.Error as exc:
        raise UnreadableFile(f"The file is not readable as CSV: {exc}") from None


def header_of(path: Path) -> Header:
    with open_csv(path) as handle:
        try:
            first = next(csv.reader(handle), None)
        except UnicodeDecodeError:
            raise UnreadableFile("The file is not UTF-8 text; save the CSV as UTF-8.") from None
    if not first:
        raise UnreadableFile("The file is empty or has no header row.")
    return read_header(first)
