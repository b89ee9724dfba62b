"""Exports from the admin: spreadsheet formulas are neutralized in CSV and XLSX."""

from __future__ import annotations

import tablib
from django.urls import reverse

from learners.imports.formats import read_csv
from learners.imports.learners import LearnerResource
from learners.imports.widgets import neutralize_formula
from tests.factories import LearnerFactory, ManagerFactory
from tests.learners.imports.conftest import run_dataset

DANGEROUS = {
    "first_name": '=HYPERLINK("http://evil.example","Click")',
    "last_name": "+1+2",
    "role": "-2+3",
    "team": "@SUM(A1)",
    "locale": "\tcmd",
}


def export(client, file_format: str) -> tablib.Dataset:
    fields = LearnerResource().get_export_order()
    response = client.post(
        reverse("admin:learners_learner_export"),
        {
            "format": {"csv": "0", "xlsx": "1"}[file_format],
            "resource": "0",
            **{f"learnerresource_{name}": "on" for name in fields},
        },
    )
    assert response.status_code == 200, response.content[:500]
    content = response.content
    if file_format == "csv":
        # Excel's reading: UTF-8 announced by the byte-order mark.
        assert content.startswith(b"\xef\xbb\xbf")
        return tablib.Dataset().load(content.decode("utf-8-sig"), "csv")
    return tablib.Dataset().load(content, file_format)


def test_neutralize_covers_every_trigger_character():
    for value in ["=1", "+1", "-1", "@x", "\tx", "\rx"]:
        assert neutralize_formula(value) == "'" + value
    assert neutralize_formula("Ana") == "Ana"
    assert neutralize_formula(5) == 5


def test_csv_and_xlsx_exports_neutralize_formulas(client, importer):
    manager = ManagerFactory.create(email="boss@example.com", name="@boss")
    LearnerFactory.create(external_id="L1", email="ana@example.com", manager=manager, **DANGEROUS)
    client.force_login(importer)

    for file_format in ("csv", "xlsx"):
        row = export(client, file_format).dict[0]
        assert row["external_id"] == "L1"
        assert row["manager_email"] == "boss@example.com"
        assert row["manager_name"] == "'@boss"
        for column, value in DANGEROUS.items():
            assert row[column] == "'" + value, (file_format, column)


def test_an_export_imports_back_unchanged(client, importer, now):
    LearnerFactory.create(external_id="L1", email="ana@example.com", **DANGEROUS)
    client.force_login(importer)
    exported = export(client, "csv")

    result = LearnerResource(now=now).import_data(exported, dry_run=False)

    assert result.totals["skip"] == 1
    assert not result.has_validation_errors()


def test_csv_opens_in_excel_with_non_ascii_names_intact(client, importer):
    LearnerFactory.create(external_id="L1", first_name="Chloé", last_name="Ødegård-Łukasz")
    client.force_login(importer)

    row = export(client, "csv").dict[0]

    assert (row["first_name"], row["last_name"]) == ("Chloé", "Ødegård-Łukasz")


def test_xlsx_export_survives_control_characters_in_stored_text(client, importer):
    LearnerFactory.create(external_id="L1", first_name="Ana\x07", last_name="Lo\x1bpez")
    client.force_login(importer)

    row = export(client, "xlsx").dict[0]

    assert (row["first_name"], row["last_name"]) == ("Ana\ufffd", "Lo\ufffdpez")


def test_a_csv_export_with_its_byte_order_mark_imports_back(client, importer, now):
    LearnerFactory.create(external_id="L1", email="ana@example.com", first_name="Chloé")
    client.force_login(importer)
    response = client.post(
        reverse("admin:learners_learner_export"),
        {
            "format": "0",
            "resource": "0",
            **{f"learnerresource_{name}": "on" for name in LearnerResource().get_export_order()},
        },
    )

    summary = run_dataset("learners", read_csv(response.content.decode("utf-8")), now=now)

    assert (summary.unchanged, summary.errors) == (1, [])
