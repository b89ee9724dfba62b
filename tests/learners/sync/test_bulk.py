"""The nightly sync's set-based path on PostgreSQL: the import's rules, in a few statements."""

# CSV rows read best as the LMS writes them, one per line.
# ruff: noqa: E501

from __future__ import annotations

import datetime as dt

import pytest
from django.core.management import call_command
from django.db import transaction

from learners.imports.files import import_file
from learners.imports.formats import UnreadableFile
from learners.models import Learner, Manager
from learners.sync.bulk import sync_file, sync_learners
from tests.factories import LearnerFactory, ManagerFactory

from ..conftest import csv_text

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

NOW = dt.datetime(2026, 12, 1, 2, 0, tzinfo=dt.UTC)
HEADER = "external_id,email,first_name,last_name,role,team,manager_email,manager_name,time_zone,locale,last_active_at"
FIELDS = (
    "external_id", "email", "first_name", "last_name", "role", "team", "manager__email",
    "time_zone", "locale", "last_active_at", "unsubscribed_at", "suppressed_at", "sunset_at",
)  # fmt: skip


def learners() -> list[tuple[object, ...]]:
    return list(Learner.objects.order_by("external_id").values_list(*FIELDS))


def test_it_creates_updates_and_leaves_unchanged_rows_alone(write_file):
    boss = ManagerFactory.create(email="boss@example.com", name="Bea Boss")
    kept = LearnerFactory.create(
        external_id="L1", email="ana@example.com", first_name="Ana", last_name="A", role="Sales",
        team="EMEA", manager=boss, time_zone="Europe/Berlin", locale="de",
        last_active_at=dt.datetime(2026, 11, 20, tzinfo=dt.UTC),
    )  # fmt: skip
    moved = LearnerFactory.create(
        external_id="L2", email="bo@example.com", team="EMEA", time_zone="Asia/Tokyo",
        last_active_at=dt.datetime(2026, 11, 25, tzinfo=dt.UTC),
    )  # fmt: skip
    before = kept.updated_at
    path = write_file("all.csv", csv_text(
        HEADER,
        "L1,ana@example.com,Ana,A,Sales,EMEA,boss@example.com,Bea Boss,Europe/Berlin,de,2026-11-20T00:00:00Z",
        # Team changed, blank time zone, an older activity date, a new manager.
        f"L2,BO@example.com,{moved.first_name},Example,Sales,APAC,new@example.com,Neu,,en,2026-11-01",
        "L3,cy@example.com,Cy,C,Support,EMEA,,,europe/paris,fr,",
    ))  # fmt: skip

    summary = sync_learners(path=path, now=NOW)

    assert (summary.total, summary.created, summary.updated, summary.unchanged) == (3, 1, 1, 1)
    assert summary.errors == []
    kept.refresh_from_db()
    assert kept.updated_at == before
    moved.refresh_from_db()
    assert (moved.team, moved.time_zone, moved.manager.email, moved.manager.name) == (  # type: ignore[union-attr]
        "APAC", "Asia/Tokyo", "new@example.com", "Neu",
    )  # fmt: skip
    assert moved.last_active_at == dt.datetime(2026, 11, 25, tzinfo=dt.UTC)
    new = Learner.objects.get(external_id="L3")
    assert (new.email, new.time_zone, new.locale, new.manager, new.last_active_at) == (
        "cy@example.com", "Europe/Paris", "fr", None, None,
    )  # fmt: skip


def test_it_never_clears_unsubscribe_suppression_or_sunset(write_file):
    LearnerFactory.create(
        external_id="L1", email="ana@example.com", unsubscribed_at=NOW, suppressed_at=NOW,
        suppression_reason="bounce", sunset_at=NOW,
    )  # fmt: skip
    path = write_file("all.csv", csv_text(
        "external_id,email,team,unsubscribed_at,suppressed_at,sunset_at", "L1,ana@example.com,New,,,",
    ))  # fmt: skip

    sync_learners(path=path, now=NOW)

    learner = Learner.objects.get()
    assert learner.team == "New"
    assert (learner.unsubscribed_at, learner.suppressed_at, learner.sunset_at) == (NOW, NOW, NOW)
    assert learner.suppression_reason == "bounce"


def test_bad_rows_are_reported_by_number_and_the_good_ones_applied(write_file):
    LearnerFactory.create(external_id="OTHER", email="taken@example.com")
    path = write_file("all.csv", csv_text(
        HEADER,
        "L1,ok@example.com,Ok,,,,,,,,",
        "L2,not-an-email,,,,,,,,,",
        ",blank@example.com,,,,,,,,,",
        "L1,again@example.com,,,,,,,,,",
        "L5,taken@example.com,,,,,,,,,",
        "L6,self@example.com,,,,,self@example.com,,,,",
        "L7,tz@example.com,,,,,,,Mars/Olympus,,",
        "L8,when@example.com,,,,,,,,,yesterday",
        "L9,ok@example.com,,,,,,Nobody,,,",
        "L10,nul@example.com,A\x00B,,,,,,,,",
    ))  # fmt: skip

    summary = sync_learners(path=path, now=NOW)

    assert [str(error) for error in summary.errors] == [
        "row 3: email: Enter a valid email address.",
        "row 4: external_id: This field cannot be blank.",
        "row 5: external_id: LMS id L1 is also on row 2 of this file.",
        "row 6: email: taken@example.com belongs to another learner (LMS id OTHER).",
        "row 7: manager_email: A learner cannot be their own manager.",
        "row 8: time_zone: Mars/Olympus is not an IANA time zone (e.g. Europe/Berlin)",
        "row 9: last_active_at: 'yesterday' is not a date and time (use e.g. 2026-11-30T14:05:00Z).",
        "row 10: manager_email: A manager name needs the manager's email.",
        "row 11: first_name: The value holds a NUL character.",
    ]
    assert (summary.created, summary.updated, summary.unchanged) == (1, 0, 0)
    assert sorted(Learner.objects.values_list("external_id", flat=True)) == ["L1", "OTHER"]


def test_a_dry_run_counts_everything_and_saves_nothing(write_file):
    path = write_file("all.csv", csv_text(HEADER, "L1,a@example.com,,,,,m@example.com,M,,,"))

    summary = sync_learners(path=path, now=NOW, dry_run=True)

    assert (summary.created, summary.dry_run) == (1, True)
    assert "(dry run: nothing was saved)" in summary.lines()[0]
    assert not Learner.objects.exists() and not Manager.objects.exists()


def test_it_ends_where_the_row_by_row_import_ends(write_file):
    ManagerFactory.create(email="boss@example.com", name="Old name")
    LearnerFactory.create(external_id="L1", email="ana@example.com", time_zone="Asia/Tokyo")
    LearnerFactory.create(external_id="L9", email="boss@example.com")
    path = write_file("all.csv", csv_text(
        HEADER,
        "L1,ana@example.com,Ana,A,Sales,EMEA,boss@example.com,Bea Boss,,de,2026-11-20T10:00:00+01:00",
        "L2,bo@example.com,Bo,B,,,boss@example.com,Bea Boss,UTC,,2026-11-21",
        "L3,cy@example.com,Cy,C,,,cy@example.com,,,,",
    ))  # fmt: skip
    with transaction.atomic():
        expected_summary = import_file(kind="learners", path=path, now=NOW)
        expected = learners()
        linked = list(Manager.objects.values_list("email", "name", "learner__external_id"))
        transaction.set_rollback(True)

    summary = sync_learners(path=path, now=NOW)

    assert learners() == expected
    assert list(Manager.objects.values_list("email", "name", "learner__external_id")) == linked
    assert [str(e) for e in summary.errors] == [str(e) for e in expected_summary.errors]
    assert (summary.created, summary.updated) == (
        expected_summary.created,
        expected_summary.updated,
    )


def test_unreadable_files_are_refused_whole(write_file, tmp_path):
    no_email = write_file("a.csv", csv_text("external_id,name", "L1,Ana"))
    latin1 = tmp_path / "b.csv"
    latin1.write_bytes("external_id,email,first_name\nL1,a@example.com,Jos\xe9\n".encode("latin-1"))

    with pytest.raises(UnreadableFile, match="no email column"):
        sync_learners(path=no_email, now=NOW)
    with pytest.raises(UnreadableFile, match="not UTF-8"):
        sync_learners(path=latin1, now=NOW)
    assert not Learner.objects.exists()


def test_the_command_prints_the_summary(write_file, capsys):
    path = write_file("all.csv", csv_text(HEADER, "L1,a@example.com,,,,,,,,,", "L2,bad,,,,,,,,,"))

    call_command("sync_learners", str(path))

    out = capsys.readouterr().out
    assert "learners: 2 rows read; created 1, updated 0, unchanged 0, errors 1" in out
    assert "row 3: email: Enter a valid email address." in out
    assert sync_file(path=path, now=NOW).unchanged == 1


def test_it_imports_managers_time_zones_like_the_row_by_row_import(write_file):
    ManagerFactory.create(email="kept@example.com", time_zone="Europe/Paris")
    path = write_file("zones.csv", csv_text(
        "external_id,email,manager_email,manager_time_zone",
        "L1,a@example.com,new@example.com,america/new_york",
        "L2,b@example.com,kept@example.com,",
        "L3,c@example.com,bad@example.com,Mars/Olympus",
    ))  # fmt: skip
    summary = sync_learners(path=path, now=NOW)
    assert [str(error) for error in summary.errors] == [
        "row 4: manager_time_zone: Mars/Olympus is not an IANA time zone (e.g. Europe/Berlin)"
    ]
    assert dict(Manager.objects.values_list("email", "time_zone")) == {
        "new@example.com": "America/New_York",
        "kept@example.com": "Europe/Paris",
    }
