"""``manage.py import_data`` and its per-kind aliases, as an operator runs them."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command

from learners.models import Course, Learner
from tests.learners.conftest import csv_text

GOOD_AND_BAD = csv_text(
    "external_id,email,first_name,time_zone",
    "L1,ana@example.com,Ana,Europe/Berlin",
    "L2,bo@,Bo,UTC",
    "L3,cy@example.com,Cy,Nowhere/Special",
    "L4,dee@example.com,Dee,Asia/Tokyo",
)


def run(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_import_learners_keeps_good_rows_and_lists_bad_ones(db, write_file):
    path = write_file("learners.csv", GOOD_AND_BAD)

    out, err = run("import_learners", str(path))

    assert out.splitlines() == [
        "learners: 4 rows read; created 2, updated 0, unchanged 0, errors 2",
        "row 3: email: Enter a valid email address.",
        "row 4: time_zone: Nowhere/Special is not an IANA time zone (e.g. Europe/Berlin)",
    ]
    assert "4/4" in err  # the progress bar, on stderr
    assert set(Learner.objects.values_list("external_id", flat=True)) == {"L1", "L4"}


def test_import_data_with_a_kind_and_dry_run(db, write_file):
    path = write_file("learners.csv", GOOD_AND_BAD)

    out, _ = run("import_data", "learners", str(path), "--dry-run")

    assert out.splitlines()[0] == (
        "learners: 4 rows read; created 2, updated 0, unchanged 0, errors 2 "
        "(dry run: nothing was saved)"
    )
    assert not Learner.objects.exists()


def test_xlsx_files_are_read_including_numeric_ids(db, write_file):
    path = write_file(
        "courses.xlsx",
        [
            ["External ID", "Title", "Course type"],
            [1042, "GDPR basics", "Compliance"],
            ["C2", "Negotiation", "elective"],
        ],
    )

    out, _ = run("import_courses", str(path))

    assert out.splitlines() == ["courses: 2 rows read; created 2, updated 0, unchanged 0, errors 0"]
    assert Course.objects.get(external_id="1042").course_type == "compliance"


def test_a_file_without_a_required_column_fails_and_names_it(db, write_file):
    path = write_file("learners.csv", csv_text("external_id,contact", "L1,ana@example.com"))

    with pytest.raises(CommandError) as raised:
        run("import_learners", str(path))

    assert str(raised.value) == (
        "The file has no email column (it has: external_id, contact). The columns expected: "
        "external_id (required; or canvas_user_id, username, user_id, id), "
        "email (required; or email_address, mail), first_name (or firstname, given_name), "
        "last_name (or lastname, surname, family_name), "
        "role (or profile_field_role, customfield_role, profile_field_jobtitle, "
        "customfield_jobtitle), "
        "team (or profile_field_team, customfield_team, profile_field_department, "
        "customfield_department, department, institution), "
        "manager_email (or profile_field_manager_email, customfield_manager_email, "
        "profile_field_manageremail, customfield_manageremail, profile_field_manager, "
        "customfield_manager), "
        "manager_name (or profile_field_manager_name, customfield_manager_name, "
        "profile_field_managername, customfield_managername), "
        "manager_time_zone (or profile_field_manager_time_zone, "
        "customfield_manager_time_zone, profile_field_managertimezone, "
        "customfield_managertimezone), manager_phone, manager_sms_consent_at, "
        "time_zone (or timezone), locale (or lang, language), last_active_at (or last_login), "
        "phone, sms_consent_at, full_name (or name)."
    )


def test_an_unreadable_file_fails(db, tmp_path, write_file):
    with pytest.raises(CommandError, match="Cannot read"):
        run("import_learners", str(tmp_path / "missing.csv"))
    with pytest.raises(CommandError, match="Cannot tell the format"):
        run("import_learners", str(write_file("learners.txt", "x")))
    with pytest.raises(CommandError, match="not UTF-8"):
        path = tmp_path / "latin1.csv"
        path.write_bytes("external_id,email\nL1,jos\xe9@example.com\n".encode("latin-1"))
        run("import_learners", str(path))


@pytest.mark.parametrize("kind", ["progress", "activity"])
def test_progress_and_activity_have_their_own_commands(db, write_file, kind):
    header = {"progress": "learner,course", "activity": "external_id,learner,kind,occurred_at"}
    path = write_file(f"{kind}.csv", csv_text(header[kind]))

    out, _ = run(f"import_{kind}", str(path))

    assert out.splitlines() == [f"{kind}: 0 rows read; created 0, updated 0, unchanged 0, errors 0"]
