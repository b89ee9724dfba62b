"""A value that cannot be stored is that row's error: every good row of the file is saved.

Rows are numbered as a spreadsheet shows them (the header is row 1), whatever the reason.
"""

from __future__ import annotations

import io

import openpyxl  # type: ignore[import-untyped]
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from learners.imports.files import read_dataset
from learners.imports.formats import read_csv
from learners.models import CourseProgress, Learner
from tests.factories import CourseFactory, LearnerFactory
from tests.learners.conftest import csv_text
from tests.learners.imports.conftest import run_dataset

HEADER = "external_id,email,first_name,last_name,last_active_at"


def learners_saved() -> set[str]:
    return set(Learner.objects.values_list("external_id", flat=True))


def test_every_unstorable_value_is_its_rows_error_and_the_good_rows_are_saved(db):
    text = csv_text(
        HEADER,
        "L1,ana@example.com,Ana,Lopez,2026-11-01T10:00:00Z",
        "L2,bo@example.com,B\x00o,Berg,",
        "L3,cy@example.com,Cy\x07,Chen,",
        "L4,dee@example.com,Dee,Diaz,0001-01-01T00:00:00+01:00",
        "L5,eli@example.com,Eli,Eng,9999-12-31T23:59:59-01:00",
        "L6,fay@example.com,Fay,Fox,2026-12-01T11:00:00Z",
        "L7,gus@example.com,Gus,Gray,,surplus",
        "L8,hal@example.com,Hal",
        "L9,ivy@example.com,Ivy,Ito,2026-12-01T09:30:00Z",
    )

    summary = run_dataset("learners", read_csv(text))

    assert summary.created == 2
    assert learners_saved() == {"L1", "L9"}
    assert [str(error) for error in summary.errors] == [
        "row 3: first_name: The cell holds a control character (U+0000); remove it.",
        "row 4: first_name: The cell holds a control character (U+0007); remove it.",
        "row 5: last_active_at: '0001-01-01T00:00:00+01:00' is outside the dates that can be "
        "stored.",
        "row 6: last_active_at: '9999-12-31T23:59:59-01:00' is outside the dates that can be "
        "stored.",
        # NOW is 09:00; more than an hour ahead is refused, as by the activity API.
        "row 7: last_active_at: '2026-12-01T11:00:00Z' is in the future.",
        "row 8: The row has 6 cells but the header has 5 columns; a cell may hold an unquoted "
        "comma.",
        "row 9: The row has 3 cells but the header has 5 columns.",
    ]
    assert summary.file_errors == []


def test_a_line_break_inside_a_name_is_stored_as_one_line(db):
    summary = run_dataset(
        "learners",
        read_csv(csv_text(HEADER, 'L1,ana@example.com,"Ana\r\n Maria",Lopez,')),
    )

    assert summary.created == 1
    assert Learner.objects.get().first_name == "Ana Maria"


def test_numbers_that_cannot_be_stored_are_row_errors(db):
    LearnerFactory.create(external_id="L1")
    CourseFactory.create(external_id="C1")
    CourseFactory.create(external_id="C2")
    CourseFactory.create(external_id="C3")
    text = csv_text(
        "learner,course,percent_complete,minutes_remaining",
        "L1,C1,50,inf",
        "L1,C2,nan,10",
        "L1,C3,40,20",
    )

    summary = run_dataset("progress", read_csv(text))

    assert [error.row for error in summary.errors] == [2, 3]
    assert "minutes_remaining: 'inf' is not a number that can be stored." in str(summary.errors[0])
    assert "percent_complete" in str(summary.errors[1])
    assert list(CourseProgress.objects.values_list("course__external_id", flat=True)) == ["C3"]


def xlsx(rows: list[list[object]]) -> bytes:
    book = openpyxl.Workbook()
    for row in rows:
        book.active.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def test_a_formula_cell_in_xlsx_is_that_rows_error(db):
    data = xlsx(
        [
            ["external_id", "email", "first_name"],
            ["L1", "ana@example.com", "Ana"],
            ["L2", "bo@example.com", '=UPPER("bo")'],
            [],
            ["L3", "cy@example.com", "Cy"],
        ]
    )

    summary = run_dataset("learners", read_dataset(data=data, file_format="xlsx"))

    assert learners_saved() == {"L1", "L3"}
    assert [str(error) for error in summary.errors] == [
        'row 3: first_name: the cell holds the formula =UPPER("bo"); save the sheet with values '
        "instead of formulas (in Excel: copy, then Paste Values)."
    ]


def upload(client, content: bytes, name: str = "learners.csv", file_format: str = "0"):
    return client.post(
        reverse("admin:learners_learner_import"),
        {
            "resource": "0",
            "format": file_format,
            "import_file": SimpleUploadedFile(name, content, content_type="text/csv"),
        },
    )


def test_the_admin_preview_shows_bad_rows_in_plain_words(client, importer):
    client.force_login(importer)
    content = csv_text(
        HEADER,
        "L1,ana@example.com,Ana,Lopez,",
        "L2,bo@example.com,B\x00o,Berg,,extra",
        "L3,cy@example.com,Cy,Chen,0001-01-01T00:00:00+01:00",
    ).encode()

    page = upload(client, content).content.decode()

    assert "1 row will be imported" in page
    assert "row 3, 4" in page
    assert "The row has 6 cells but the header has 5 columns" in page
    assert "outside the dates that can be stored" in page
    for internal in ("Traceback", "InvalidDimensions", "OverflowError", "Line number"):
        assert internal not in page


def test_an_unreadable_file_is_explained_without_internal_terms(client, importer):
    client.force_login(importer)

    latin1 = upload(client, "external_id,email\nL1,jos\xe9@example.com\n".encode("latin-1"))
    not_a_workbook = upload(client, b"not a workbook", name="learners.xlsx", file_format="1")

    assert "The file is not UTF-8 text; save the CSV as UTF-8." in latin1.content.decode()
    assert "The file is not readable as XLSX" in not_a_workbook.content.decode()
    for page in (latin1.content.decode(), not_a_workbook.content.decode()):
        assert "encountered while trying to read file" not in page
        assert "Error" not in page.split("<title>", 1)[1].split("</title>", 1)[0]
