"""Reading CSV and XLSX files so that a bad line is that row's error, never the file's.

tablib refuses a whole CSV file when one line has more or fewer cells than the header, and
reads an XLSX formula cell as its cached value (nothing at all when the file was written by a
program that does not compute formulas). These readers keep every line: a line of the wrong
length or a formula cell is recorded as a problem of its row, which the resource reports as
that row's error. Rows are numbered as a spreadsheet shows them: the header is row 1.
"""

from __future__ import annotations

import csv
import io
from typing import Any

import tablib
from import_export.formats import base_formats

#: Set on a dataset read here: problems found while reading, by dataset row (1 = first row).
ROW_PROBLEMS = "row_problems"
#: Set on a dataset read here: the spreadsheet row number of each dataset row.
SHEET_ROWS = "sheet_rows"


class UnreadableFile(Exception):
    """The file cannot be imported at all (wrong format, no header, a required column missing)."""


def _blank(cells: list[Any]) -> bool:
    return all(cell is None or (isinstance(cell, str) and not cell.strip()) for cell in cells)


def _build(header: list[Any], records: list[tuple[int, list[Any], list[str]]]) -> tablib.Dataset:
    """A dataset of ``records`` (sheet row, cells, problems), every row fitted to the header."""
    if not header or _blank(header):
        raise UnreadableFile("The file is empty or has no header row.")
    width = len(header)
    dataset = tablib.Dataset(headers=[str(cell or "").strip() for cell in header])
    problems: dict[int, list[str]] = {}
    sheet_rows: list[int] = []
    for sheet_row, cells, found in records:
        if _blank(cells):
            continue
        messages = list(found)
        if len(cells) > width and not _blank(cells[width:]):
            messages.append(
                f"The row has {len(cells)} cells but the header has {width} columns; "
                "a cell may hold an unquoted comma."
            )
        elif len(cells) < width:
            messages.append(f"The row has {len(cells)} cells but the header has {width} columns.")
        fitted = (cells + [""] * width)[:width]
        dataset.append(fitted)
        sheet_rows.append(sheet_row)
        if messages:
            problems[len(dataset)] = messages
    setattr(dataset, ROW_PROBLEMS, problems)
    setattr(dataset, SHEET_ROWS, sheet_rows)
    return dataset


def read_csv(text: str) -> tablib.Dataset:
    """Parse CSV text (comma, semicolon or tab separated, as the first line shows)."""
    text = text.removeprefix("\ufeff")
    first_line = text.split("\n", 1)[0]
    delimiter = max(",;\t", key=first_line.count)
    try:
        lines = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True))
    except csv.Error as exc:
        raise UnreadableFile(f"The file is not readable as CSV: {exc}.") from None
    if not lines:
        raise UnreadableFile("The file is empty or has no header row.")
    records: list[tuple[int, list[Any], list[str]]] = [
        (index + 1, cells, []) for index, cells in enumerate(lines)
    ]
    return _build(lines[0], records[1:])


def _formula_problem(column: str, formula: Any) -> str:
    return (
        f"{column}: the cell holds the formula {str(formula)[:60]}; save the sheet with "
        "values instead of formulas (in Excel: copy, then Paste Values)."
    )


def read_xlsx(data: bytes) -> tablib.Dataset:
    """Parse the first sheet of an XLSX workbook, recording formula cells as row problems."""
    import openpyxl  # type: ignore[import-untyped]

    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    except Exception:
        # openpyxl raises many kinds of error for a file that is not a workbook.
        raise UnreadableFile("The file is not readable as XLSX (an Excel workbook).") from None
    rows = book.active.iter_rows() if book.active is not None else iter(())
    header_cells = next(rows, None)
    if header_cells is None:
        raise UnreadableFile("The file is empty or has no header row.")
    header = [cell.value for cell in header_cells]
    names = [
        str(value or "").strip() or f"column {index + 1}" for index, value in enumerate(header)
    ]
    records: list[tuple[int, list[Any], list[str]]] = []
    for index, cells in enumerate(rows, start=2):
        values: list[Any] = []
        problems: list[str] = []
        for position, cell in enumerate(cells):
            if getattr(cell, "data_type", None) == "f":
                column = names[position] if position < len(names) else f"column {position + 1}"
                problems.append(_formula_problem(column, cell.value))
                values.append("")
            else:
                values.append(cell.value)
        while len(values) > len(header) and values[-1] in (None, ""):
            values.pop()
        records.append((index, values, problems))
    book.close()
    return _build(header, records)


class CSV(base_formats.CSV):
    """The admin's CSV format, read as above (UTF-8, with or without Excel's byte-order mark),
    written with the byte-order mark: without it Excel reads UTF-8 as the local code page and
    "Chloé" opens as "ChloÃ©"."""

    def export_data(self, dataset: tablib.Dataset, **kwargs: Any) -> str:
        return "\ufeff" + str(super().export_data(dataset, **kwargs))

    def create_dataset(self, in_stream: Any, **kwargs: Any) -> tablib.Dataset:
        if isinstance(in_stream, bytes):
            try:
                in_stream = in_stream.decode("utf-8-sig")
            except UnicodeDecodeError:
                raise UnreadableFile("The file is not UTF-8 text; save the CSV as UTF-8.") from None
        return read_csv(in_stream)


class XLSX(base_formats.XLSX):
    """The admin's XLSX format, read as above, and written whatever the stored text holds."""

    def create_dataset(self, in_stream: Any) -> tablib.Dataset:
        return read_xlsx(in_stream)

    def export_data(self, dataset: tablib.Dataset, **kwargs: Any) -> bytes:
        # openpyxl refuses control characters (a bell pasted into a name, a NUL an LMS sent
        # before imports refused them) and import-export then fails the whole export; each
        # becomes U+FFFD instead, so the cell shows where something was.
        from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE  # type: ignore[import-untyped]

        cleaned = tablib.Dataset(headers=dataset.headers)
        for row in dataset:
            cleaned.append(
                [
                    ILLEGAL_CHARACTERS_RE.sub("\ufffd", cell) if isinstance(cell, str) else cell
                    for cell in row
                ]
            )
        return bytes(super().export_data(cleaned, **kwargs))
