"""Importing learners and their managers: good rows in, bad rows reported."""

from __future__ import annotations

import datetime as dt

from learners.models import Learner, Manager
from tests.factories import (
    LearnerFactory,
    ManagerFactory,
)
from tests.learners.conftest import csv_text
from tests.learners.imports.conftest import LEARNER_HEADER, run


def test_it_imports_good_rows_and_reports_each_bad_one_by_row_number(db):
    summary = run(
        "learners",
        csv_text(
            LEARNER_HEADER,
            "L1, Ana.Lopez@Example.COM ,Ana,Lopez,Sales,EMEA,,,europe/berlin,de,"
            "2026-11-01T10:00:00Z",
            "L2,not-an-email,Bo,Berg,Sales,EMEA,,,UTC,en,",
            "L3,cy@example.com,Cy,Chen,Support,APAC,,,Mars/Olympus,en,",
            "L4,dee@example.com,Dee,Diaz,Finance,,,,Asia/Tokyo,ja,last tuesday",
            "L5,eli@example.com,Eli,Eng,Finance,,,,,,",
        ),
    )

    assert (summary.created, summary.updated, summary.unchanged) == (2, 0, 0)
    assert [str(error) for error in summary.errors] == [
        "row 3: email: Enter a valid email address.",
        "row 4: time_zone: Mars/Olympus is not an IANA time zone (e.g. Europe/Berlin)",
        "row 5: last_active_at: 'last tuesday' is not a date and time "
        "(use e.g. 2026-11-30T14:05:00Z).",
    ]
    ana = Learner.objects.get(external_id="L1")
    assert ana.email == "ana.lopez@example.com"
    assert ana.time_zone == "Europe/Berlin"
    assert ana.last_active_at == dt.datetime(2026, 11, 1, 10, tzinfo=dt.UTC)
    # Blank time zone and locale fall back to the defaults instead of failing the row.
    eli = Learner.objects.get(external_id="L5")
    assert (eli.time_zone, eli.locale) == ("UTC", "en")
    assert set(Learner.objects.values_list("external_id", flat=True)) == {"L1", "L5"}


def test_duplicates_in_the_file_and_in_the_database_are_row_errors(db):
    LearnerFactory.create(external_id="OLD", email="taken@example.com")

    summary = run(
        "learners",
        csv_text(
            "external_id,email",
            "L1,one@example.com",
            "L1,other@example.com",
            "L2,ONE@example.com",
            "L3,taken@example.com",
        ),
    )

    assert summary.created == 1
    assert [str(error) for error in summary.errors] == [
        "row 3: external_id: LMS id L1 is also on row 2 of this file.",
        "row 4: email: one@example.com is also on row 2 of this file.",
        "row 5: email: taken@example.com belongs to another learner (LMS id OLD).",
    ]


def test_a_reimport_reports_unchanged_and_changed_rows(db):
    text = csv_text(LEARNER_HEADER, "L1,ana@example.com,Ana,Lopez,Sales,EMEA,,,UTC,en,")
    run("learners", text)

    again = run("learners", text)
    changed = run(
        "learners", csv_text(LEARNER_HEADER, "L1,ana@example.com,Ana,Lopez,Support,EMEA,,,UTC,en,")
    )

    assert (again.created, again.updated, again.unchanged) == (0, 0, 1)
    assert (changed.created, changed.updated, changed.unchanged) == (0, 1, 0)
    assert Learner.objects.get().role == "Support"


def test_managers_are_created_once_and_linked_to_the_learner_with_their_email(db):
    boss = LearnerFactory.create(external_id="B1", email="boss@example.com", manager=None)

    summary = run(
        "learners",
        csv_text(
            "external_id,email,manager_email,manager_name",
            "L1,ana@example.com,Boss@Example.com,Bea Boss",
            "L2,bo@example.com,boss@example.com,Bea Boss",
            "L3,cy@example.com,lead@example.com,Lee Lead",
            "L4,bad-row,never@example.com,Never Created",
            "L5,dee@example.com,not-an-email,",
        ),
    )

    assert summary.created == 3
    assert [error.row for error in summary.errors] == [5, 6]
    assert "manager_email: Enter a valid email address." in str(summary.errors[1])
    assert set(Manager.objects.values_list("email", flat=True)) == {
        "boss@example.com",
        "lead@example.com",
    }
    manager = Manager.objects.get(email="boss@example.com")
    assert manager.name == "Bea Boss"
    assert manager.learner == boss
    assert set(manager.reports.values_list("external_id", flat=True)) == {"L1", "L2"}


def test_a_manager_imported_before_their_own_learner_row_is_linked_when_it_arrives(db):
    run(
        "learners",
        csv_text("external_id,email,manager_email", "L1,ana@example.com,lee@example.com"),
    )
    assert Manager.objects.get(email="lee@example.com").learner is None

    run("learners", csv_text("external_id,email", "L2,lee@example.com"))

    linked = Manager.objects.get(email="lee@example.com").learner
    assert linked is not None
    assert linked.external_id == "L2"


def test_a_manager_rename_and_a_manager_change_are_updates(db):
    old = ManagerFactory.create(email="old@example.com", name="Old Name")
    LearnerFactory.create(external_id="L1", email="ana@example.com", manager=old)
    LearnerFactory.create(external_id="L2", email="bo@example.com", manager=old)

    summary = run(
        "learners",
        csv_text(
            "external_id,email,manager_email,manager_name",
            "L1,ana@example.com,old@example.com,New Name",
            "L2,bo@example.com,,",
        ),
    )

    assert summary.updated == 2
    old.refresh_from_db()
    assert old.name == "New Name"
    assert Learner.objects.get(external_id="L2").manager is None


def test_reimport_never_clears_or_sets_contactability(db, now):
    unsubscribed = LearnerFactory.create(
        external_id="L1", email="gone@example.com", unsubscribed_at=now, role="Sales"
    )
    bounced = LearnerFactory.create(
        external_id="L2",
        email="bounced@example.com",
        suppressed_at=now,
        suppression_reason=Learner.SuppressionReason.BOUNCE,
        sunset_at=now,
    )

    # An exported file carries the contactability columns; importing it back ignores them.
    summary = run(
        "learners",
        csv_text(
            "external_id,email,role,unsubscribed_at,suppressed_at,suppression_reason,sunset_at",
            "L1,gone@example.com,Support,,,,",
            "L2,bounced@example.com,Sales,,,,",
            "L3,new@example.com,Sales,2026-01-01T00:00:00Z,2026-01-01T00:00:00Z,bounce,",
        ),
    )

    assert summary.errors == []
    unsubscribed.refresh_from_db()
    bounced.refresh_from_db()
    assert unsubscribed.role == "Support"
    assert unsubscribed.unsubscribed_at == now
    assert (bounced.suppressed_at, bounced.suppression_reason, bounced.sunset_at) == (
        now,
        "bounce",
        now,
    )
    new = Learner.objects.get(external_id="L3")
    assert (new.unsubscribed_at, new.suppressed_at, new.suppression_reason) == (None, None, "")


def test_a_suppressed_address_cannot_come_back_under_a_new_lms_id(db, now):
    LearnerFactory.create(external_id="L1", email="bounced@example.com", suppressed_at=now)

    summary = run("learners", csv_text("external_id,email", "L9,Bounced@example.com"))

    assert summary.created == 0
    assert [str(e) for e in summary.errors] == [
        "row 2: email: bounced@example.com belongs to another learner (LMS id L1)."
    ]


def test_last_active_at_in_a_file_never_moves_a_learner_backward(db):
    recent = dt.datetime(2026, 11, 20, tzinfo=dt.UTC)
    LearnerFactory.create(external_id="L1", email="ana@example.com", last_active_at=recent)
    LearnerFactory.create(external_id="L2", email="bo@example.com", last_active_at=recent)

    run(
        "learners",
        csv_text(
            "external_id,email,last_active_at",
            "L1,ana@example.com,2026-10-01T00:00:00Z",
            "L2,bo@example.com,2026-11-25 08:30",
        ),
    )

    assert Learner.objects.get(external_id="L1").last_active_at == recent
    assert Learner.objects.get(external_id="L2").last_active_at == dt.datetime(
        2026, 11, 25, 8, 30, tzinfo=dt.UTC
    )


def test_a_dry_run_reports_but_saves_nothing(db):
    summary = run(
        "learners", csv_text("external_id,email", "L1,ana@example.com", "L2,x"), dry_run=True
    )

    assert (summary.created, len(summary.errors)) == (1, 1)
    assert "dry run" in summary.lines()[0]
    assert not Learner.objects.exists()
    assert not Manager.objects.exists()


def test_query_count_does_not_grow_with_the_rows(db, django_assert_max_num_queries):
    manager = ManagerFactory.create(email="boss@example.com")
    LearnerFactory.create_batch(50, manager=manager)
    rows = [f"N{i},new{i}@example.com,boss@example.com" for i in range(300)]
    rows += [f"{learner.external_id},{learner.email},boss@example.com" for learner in
             Learner.objects.all()]  # fmt: skip

    with django_assert_max_num_queries(25):
        summary = run("learners", csv_text("external_id,email,manager_email", *rows))

    assert (summary.created, summary.unchanged, summary.errors) == (300, 50, [])
