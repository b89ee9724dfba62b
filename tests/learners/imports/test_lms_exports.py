"""LMS user exports import as they come; other column names are mapped once per source.

The fixtures carry the real headers of each LMS's user export (see learners/imports/lms.py for
where each comes from); the rows are made up.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse

from learners.imports.files import import_file
from learners.models import ColumnMapping, Learner
from tests.learners.conftest import NOW, csv_text

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "lms_exports"


def learner(external_id: str) -> dict[str, object]:
    found = Learner.objects.select_related("manager").get(external_id=external_id)
    return {
        "email": found.email,
        "first_name": found.first_name,
        "last_name": found.last_name,
        "role": found.role,
        "team": found.team,
        "time_zone": found.time_zone,
        "locale": found.locale,
        "manager": found.manager.email if found.manager else None,
    }


def test_a_moodle_user_export(db):
    summary = import_file(kind="learners", path=FIXTURES / "moodle" / "users.csv", now=NOW)

    assert (summary.created, summary.errors) == (2, [])
    assert learner("ana.lopez") == {
        "email": "ana.lopez@example.com",
        "first_name": "Ana",
        "last_name": "López",
        "role": "Account executive",
        "team": "Sales EMEA",
        "time_zone": "Europe/Berlin",
        "locale": "de",
        "manager": "bea.boss@example.com",
    }
    # Moodle's 99 is "the site's default": the learner gets ours.
    assert learner("bo.berg")["time_zone"] == "UTC"
    assert summary.ignored_columns == ["idnumber", "institution", "city", "country"]
    assert summary.lines()[1] == "columns not used: idnumber, institution, city, country"


def test_a_totara_hr_import_file(db):
    summary = import_file(kind="learners", path=FIXTURES / "totara" / "users.csv", now=NOW)

    assert (summary.created, summary.errors) == (2, [])
    assert learner("chloe.dubois") == {
        "email": "chloe.dubois@example.com",
        "first_name": "Chloé",
        "last_name": "Dubois",
        "role": "Controller",
        "team": "Finance France",
        "time_zone": "Europe/Paris",
        "locale": "fr",
        "manager": "marc.martin@example.com",
    }
    assert summary.ignored_columns == [
        "idnumber",
        "timemodified",
        "deleted",
        "institution",
        "department",
        "manageridnumber",
    ]


def test_a_canvas_provisioning_report(db):
    summary = import_file(kind="learners", path=FIXTURES / "canvas" / "users.csv", now=NOW)

    assert (summary.created, summary.errors) == (2, [])
    # The Canvas user id, always present; user_id is the SIS id, often blank.
    assert learner("2573")["first_name"] == "Farid"
    assert learner("2572")["last_name"] == "Smith"
    assert "user_id" in summary.ignored_columns
    assert "full_name" not in summary.ignored_columns


def test_an_open_edx_profile_report_splits_the_full_name(db):
    summary = import_file(kind="learners", path=FIXTURES / "openedx" / "users.csv", now=NOW)

    assert (summary.created, summary.errors) == (2, [])
    grace = learner("grace_h")
    assert (grace["first_name"], grace["last_name"], grace["team"]) == ("Grace", "Hopper", "Navy")
    assert grace["locale"] == "en"
    hugo = learner("hugo")
    assert (hugo["first_name"], hugo["last_name"], hugo["locale"]) == ("Hugo", "", "fr")
    assert summary.ignored_columns[:2] == ["id", "location"]


HRIS = csv_text(
    "Employee no,Work e-mail,Given,Squad",
    "E1,ana@example.com,Ana,Blue",
    "E2,bo@example.com,Bo,Red",
)


def test_staff_save_a_mapping_once_in_the_admin_and_use_it_on_import(client, admin_user):
    client.force_login(admin_user)
    saved = client.post(
        reverse("admin:learners_columnmapping_add"),
        {
            "kind": "learners",
            "source": "HR system",
            "lines": "Employee no = external_id\nWork e-mail = email\nGiven = first_name\n"
            "Squad = team",
        },
    )
    assert saved.status_code == 302, saved.content.decode()[:2000]
    mapping = ColumnMapping.objects.get(source="HR system")

    preview = client.post(
        reverse("admin:learners_learner_import"),
        {
            "resource": "0",
            "format": "0",
            "source": str(mapping.pk),
            "import_file": SimpleUploadedFile("hr.csv", HRIS.encode(), content_type="text/csv"),
        },
    )
    assert "2 rows will be imported: 2 new" in preview.content.decode()
    confirm = preview.context["confirm_form"]
    client.post(
        reverse("admin:learners_learner_process_import"),
        {name: confirm.initial[name] for name in confirm.fields if name in confirm.initial},
    )

    assert learner("E1")["team"] == "Blue"
    assert learner("E2")["email"] == "bo@example.com"


def test_a_mapping_names_only_columns_we_have(client, admin_user):
    client.force_login(admin_user)

    page = client.post(
        reverse("admin:learners_columnmapping_add"),
        {"kind": "learners", "source": "HR", "lines": "Shoe size = shoe_size"},
    ).content.decode()

    assert "Not a column of ours: shoe_size" in page
    assert not ColumnMapping.objects.exists()


def test_the_command_uses_a_saved_mapping(db, write_file, capsys):
    ColumnMapping.objects.create(
        kind="learners",
        source="HR system",
        columns={"Employee no": "external_id", "Work e-mail": "email", "Given": "first_name"},
    )
    path = write_file("hr.csv", HRIS)

    call_command("import_learners", str(path), "--source", "HR system")

    assert learner("E1")["first_name"] == "Ana"
    assert "columns not used: squad" in capsys.readouterr().out


def test_an_unknown_source_is_refused_with_the_saved_ones(db, write_file):
    from django.core.management.base import CommandError

    ColumnMapping.objects.create(kind="learners", source="HR system", columns={})
    with pytest.raises(CommandError, match=r"saved sources: HR system"):
        call_command("import_learners", str(write_file("x.csv", HRIS)), "--source", "Moodle")


def test_the_admin_names_every_expected_column_when_one_is_missing(client, importer):
    client.force_login(importer)
    content = csv_text("username,contact", "ana,ana@example.com").encode()

    page = client.post(
        reverse("admin:learners_learner_import"),
        {
            "resource": "0",
            "format": "0",
            "import_file": SimpleUploadedFile("x.csv", content, content_type="text/csv"),
        },
    ).content.decode()

    assert "Nothing can be imported" in page
    assert "The file has no email column (it has: username, contact)." in page
    assert "email (required; or email_address, mail)" in page
    assert "Traceback" not in page
    assert not Learner.objects.exists()
