"""Running an import from a file outside the admin (commands, benchmark) and summarizing it."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tablib
from django.core.exceptions import NON_FIELD_ERRORS
from import_export.results import Result

from learners.imports.activity import ActivityEventResource
from learners.imports.base import BaseLearnerDataResource
from learners.imports.courses import CourseResource
from learners.imports.formats import CSV, XLSX, UnreadableFile, read_csv, read_xlsx
from learners.imports.learners import LearnerResource
from learners.imports.progress import CourseProgressResource

logger = logging.getLogger(__name__)

FORMATS = {"csv": CSV, "xlsx": XLSX}

RESOURCES: dict[str, type[BaseLearnerDataResource]] = {
    "learners": LearnerResource,
    "courses": CourseResource,
    "progress": CourseProgressResource,
    "activity": ActivityEventResource,
}


@dataclass(frozen=True)
class RowError:
    """A row that was not imported: its number as a spreadsheet shows it (the header is row 1)
    and why."""

    row: int
    message: str

    def __str__(self) -> str:
        return f"row {self.row}: {self.message}"


@dataclass
class ImportSummary:
    """What an import did, in the terms a person checks: created, updated, unchanged, errors."""

    kind: str
    dry_run: bool
    total: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)
    #: Problems with the import as a whole; when there are any, nothing was saved.
    file_errors: list[str] = field(default_factory=list)
    #: Columns of the file that feed nothing.
    ignored_columns: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        """The summary as printed by the commands."""
        head = (
            f"{self.kind}: {self.total} rows read; created {self.created}, updated "
            f"{self.updated}, unchanged {self.unchanged}, errors {len(self.errors)}"
        )
        if self.dry_run:
            head += " (dry run: nothing was saved)"
        lines = [head]
        if self.ignored_columns:
            lines.append(f"columns not used: {', '.join(self.ignored_columns)}")
        lines += [f"error: {message} (nothing was saved)" for message in self.file_errors]
        lines += [str(error) for error in self.errors]
        return lines


def format_for(path: Path, requested: str | None) -> str:
    """The format name for ``path``: as requested, or from the file's extension."""
    name = (requested or path.suffix.lstrip(".")).lower()
    if name not in FORMATS:
        raise UnreadableFile(
            f"Cannot tell the format of {path.name}; use --format csv or --format xlsx."
        )
    return name


def read_dataset(*, data: bytes, file_format: str) -> tablib.Dataset:
    """Parse CSV (UTF-8, with or without Excel's byte-order mark) or XLSX into a dataset."""
    if file_format == "csv":
        try:
            return read_csv(data.decode("utf-8-sig"))
        except UnicodeDecodeError:
            raise UnreadableFile("The file is not UTF-8 text; save the CSV as UTF-8.") from None
    return read_xlsx(data)


def check_columns(
    *, kind: str, dataset: tablib.Dataset, column_map: Mapping[str, str] | None = None
) -> None:
    """Refuse a file that lacks a column every row needs, naming every column expected."""
    RESOURCES[kind](column_map=column_map).check_columns(dataset.headers)


def describe_errors(error_dict: dict[str, list[str]]) -> str:
    """``{"email": ["Enter a valid email address."]}`` → ``email: Enter a valid email address.``"""
    parts = []
    for name, messages in error_dict.items():
        text = " ".join(str(message) for message in messages)
        parts.append(text if name == NON_FIELD_ERRORS else f"{name}: {text}")
    return "; ".join(parts)


def summarize(*, kind: str, result: Result, dry_run: bool) -> ImportSummary:
    """Turn an import-export ``Result`` into an :class:`ImportSummary`."""
    summary = ImportSummary(
        kind=kind,
        dry_run=dry_run,
        total=result.total_rows,
        created=result.totals["new"],
        updated=result.totals["update"],
        unchanged=result.totals["skip"],
    )
    errors = [RowError(row.number, describe_errors(row.error_dict)) for row in result.invalid_rows]
    for error_row in result.error_rows:
        for error in error_row.errors:
            logger.warning(
                "Import of %s: row %s failed", kind, error_row.number, exc_info=error.error
            )
        errors.append(RowError(error_row.number, "the row could not be saved."))
    summary.errors = sorted(errors, key=lambda error: error.row)
    summary.ignored_columns = list(getattr(result, "ignored_columns", []))
    summary.file_errors = [_file_error(error.error) for error in result.base_errors]
    if result.has_errors():
        # import-export rolls the whole import back when a row raised (not merely failed
        # validation); say so rather than report rows as created.
        summary.created = summary.updated = 0
        if not summary.file_errors:
            rows = ", ".join(str(error_row.number) for error_row in result.error_rows)
            summary.file_errors = [f"row {rows} could not be saved, so the import was rolled back"]
    return summary


def _file_error(error: Exception) -> str:
    """What staff are told about an error that stopped the whole import. The exception itself
    (a database message, say) goes to the log for operators, not to the page."""
    if isinstance(error, UnreadableFile):
        return str(error)
    logger.warning("Import failed", exc_info=error)
    return "the rows could not be saved, so the import was rolled back"


def import_dataset(
    *,
    kind: str,
    dataset: tablib.Dataset,
    now: dt.datetime,
    dry_run: bool = False,
    on_row: Callable[[], object] | None = None,
    column_map: Mapping[str, str] | None = None,
) -> ImportSummary:
    """Import one dataset of ``kind`` (learners, courses, progress, activity).

    Valid rows are saved even when others fail; each failing row is reported with its number.
    With ``dry_run`` everything happens inside a transaction that is rolled back.
    """
    check_columns(kind=kind, dataset=dataset, column_map=column_map)
    resource = RESOURCES[kind](now=now, on_row=on_row, preview=False, column_map=column_map)
    result = resource.import_data(
        dataset, dry_run=dry_run, raise_errors=False, use_transactions=True
    )
    return summarize(kind=kind, result=result, dry_run=dry_run)


def import_file(
    *,
    kind: str,
    path: Path,
    now: dt.datetime,
    file_format: str | None = None,
    dry_run: bool = False,
    on_start: Callable[[int], Any] | None = None,
    on_row: Callable[[], object] | None = None,
    column_map: Mapping[str, str] | None = None,
) -> ImportSummary:
    """Read ``path`` and import it; :class:`UnreadableFile` when it cannot be read at all.

    ``on_start`` is told the number of rows before the first one is imported (for a progress
    bar); ``on_row`` is called after each row.
    """
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UnreadableFile(f"Cannot read {path}: {exc.strerror}") from None
    dataset = read_dataset(data=data, file_format=format_for(path, file_format))
    check_columns(kind=kind, dataset=dataset, column_map=column_map)
    if on_start is not None:
        on_start(len(dataset))
    return import_dataset(
        kind=kind,
        dataset=dataset,
        now=now,
        dry_run=dry_run,
        on_row=on_row,
        column_map=column_map,
    )
