"""Importing learners, courses, progress and activity: good rows in, bad rows reported."""

from __future__ import annotations

import datetime as dt

import tablib

from learners.imports import import_dataset
from learners.models import ActivityEvent, CourseProgress, Learner, Manager
from tests.factories import (
    CourseFactory,
    CourseProgressFactory,
    LearnerFactory,
    ManagerFactory,
)

from .conftest import NOW, csv_text

LEARNER_HEADER = (
    "external_id,email,first_name,last_name,role,team,manager_email,manager_name,"
    "time_zone,locale,last_active_at"
)


def run(kind: str, text: str, *, dry_run: bool = False, now: dt.datetime = NOW):
    dataset = tablib.Dataset().load(text, format="csv")
    return import_dataset(kind=kind, dataset=dataset, now=now, dry_run=dry_run)


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
        "row 2: email: Enter a valid email address.",
        "row 3: time_zone: Mars/Olympus is not an IANA time zone (e.g. Europe/Berlin)",
        "row 4: last_active_at: 'last tuesday' is not a date and time "
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
        "row 2: external_id: LMS id L1 is also on row 1 of this file.",
        "row 3: email: one@example.com is also on row 1 of this file.",
        "row 4: email: taken@example.com belongs to another learner (LMS id OLD).",
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
    assert [error.row for error in summary.errors] == [4, 5]
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
        "row 1: email: bounced@example.com belongs to another learner (LMS id L1)."
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


def test_courses_accept_type_labels_in_any_case(db):
    summary = run(
        "courses",
        csv_text(
            "external_id,title,course_type,url",
            "C1,GDPR basics,Compliance,https://lms.example.com/c/1",
            "C2,Negotiation,elective,",
            "C3,Mystery,astrology,",
            "C4,,other,",
        ),
    )

    assert summary.created == 2
    assert [e.row for e in summary.errors] == [3, 4]
    assert "course_type: Value 'astrology' is not a valid choice." in str(summary.errors[0])
    assert "title: This field cannot be blank." in str(summary.errors[1])


def test_progress_references_learners_and_courses_by_lms_id_and_refreshes_completion(db, now):
    ana = LearnerFactory.create(external_id="L1")
    course_a, course_b = (
        CourseFactory.create(external_id="C1"),
        CourseFactory.create(external_id="C2"),
    )
    CourseProgressFactory.create(learner=ana, course=course_a, percent_complete=10)

    summary = run(
        "progress",
        csv_text(
            "learner,course,percent_complete,last_module,next_module,resume_url,"
            "minutes_remaining,updated_at",
            "L1,C1,100,Module 5,,https://lms.example.com/c/1,0,2026-11-30T12:00:00Z",
            "L1,C2,50%,Module 2,Module 3,https://lms.example.com/c/2/m/3,20,",
            "L404,C1,10,,,,,",
            "L1,C404,10,,,,,",
            "L1,C2,120,,,not a url,-5,",
        ),
    )

    assert (summary.created, summary.updated) == (1, 1)
    messages = [str(e) for e in summary.errors]
    assert messages[0] == "row 3: learner: No learner has the LMS id 'L404'."
    assert messages[1] == "row 4: course: No course has the LMS id 'C404'."
    assert messages[2].startswith("row 5: course: Learner L1 in course C2 is also on row 2.")
    assert "percent_complete: Ensure this value is less than or equal to 100." in messages[2]
    assert "resume_url: Enter a valid URL." in messages[2]
    assert "minutes_remaining: Ensure this value is greater than or equal to 0." in messages[2]
    second = CourseProgress.objects.get(learner=ana, course=course_b)
    assert (second.percent_complete, second.next_module, second.updated_at) == (50, "Module 3", now)
    ana.refresh_from_db()
    assert ana.completion_rate == 50.0


def test_activity_import_moves_last_active_forward_and_replays_change_nothing(db):
    LearnerFactory.create(external_id="L1", last_active_at=dt.datetime(2026, 11, 1, tzinfo=dt.UTC))
    LearnerFactory.create(external_id="L2", last_active_at=dt.datetime(2026, 11, 28, tzinfo=dt.UTC))
    CourseFactory.create(external_id="C1")
    text = csv_text(
        "external_id,learner,course,kind,occurred_at",
        "E1,L1,C1,module_completed,2026-11-20T10:00:00Z",
        "E2,L1,,Login,2026-11-10T10:00:00Z",
        "E3,L2,,login,2026-11-05T10:00:00Z",
        "E1,L1,C1,module_completed,2026-11-20T10:00:00Z",
        "E4,L9,,login,2026-11-05T10:00:00Z",
        "E5,L1,,dancing,2026-11-05T10:00:00Z",
        "E6,L1,,login,2027-06-01T00:00:00Z",
    )

    first = run("activity", text)
    replay = run("activity", text)

    assert (first.created, first.unchanged) == (3, 1)
    assert [e.row for e in first.errors] == [5, 6, 7]
    assert str(first.errors[0]) == "row 5: learner: No learner has the LMS id 'L9'."
    assert "occurred_at: The time is in the future." in str(first.errors[2])
    assert (replay.created, replay.updated, replay.unchanged) == (0, 0, 4)
    assert ActivityEvent.objects.count() == 3
    assert Learner.objects.get(external_id="L1").last_active_at == dt.datetime(
        2026, 11, 20, 10, tzinfo=dt.UTC
    )
    # An older event never moves a learner back.
    assert Learner.objects.get(external_id="L2").last_active_at == dt.datetime(
        2026, 11, 28, tzinfo=dt.UTC
    )
