"""record_events: store once, move last_active_at forward only, a few queries per batch."""

from __future__ import annotations

import datetime as dt

from learners.activity import advance_last_active, record_events
from learners.models import ActivityEvent, Learner
from tests.factories import CourseFactory, LearnerFactory
from tests.learners.conftest import NOW

DAY = dt.timedelta(days=1)


def event(event_id: str, learner: str, when: dt.datetime, **extra: object) -> dict[str, object]:
    return {
        "event_id": event_id,
        "learner_id": learner,
        "kind": "login",
        "occurred_at": when.isoformat(),
        **extra,
    }


def test_it_stores_valid_events_and_reports_bad_ones_by_position(db):
    LearnerFactory.create(external_id="L1", last_active_at=NOW - 40 * DAY)
    CourseFactory.create(external_id="C1")

    result = record_events(
        payload=[
            event("E1", "L1", NOW - 2 * DAY, course_id="C1", kind="module_completed"),
            event("E2", "L404", NOW - DAY),
            {"event_id": "E3", "learner_id": "L1", "kind": "login", "occurred_at": "yesterday"},
            event("E4", "L1", NOW - DAY, course_id="C404"),
            "not an object",
        ],
        now=NOW,
    )

    assert result.accepted == 1
    assert [(e.index, e.event_id, e.errors) for e in result.errors] == [
        (1, "E2", {"learner_id": ["No learner has the LMS id 'L404'."]}),
        (2, "E3", {"occurred_at": ["Not an ISO 8601 timestamp (e.g. 2026-11-30T14:05:00Z)."]}),
        (3, "E4", {"course_id": ["No course has the LMS id 'C404'."]}),
        (4, None, {"non_field_errors": ["Invalid data. Expected a dictionary, but got str."]}),
    ]
    stored = ActivityEvent.objects.select_related("course").get()
    assert (stored.external_id, stored.course and stored.course.external_id, stored.kind) == (
        "E1",
        "C1",
        "module_completed",
    )
    assert Learner.objects.get().last_active_at == NOW - 2 * DAY


def test_replays_change_nothing_and_count_as_duplicates(db):
    LearnerFactory.create(external_id="L1")
    batch = [event("E1", "L1", NOW - DAY), event("E1", "L1", NOW - DAY)]

    first = record_events(payload=batch, now=NOW)
    second = record_events(payload=batch, now=NOW)

    assert (first.accepted, first.duplicates, first.errors) == (1, 1, [])
    assert (second.accepted, second.duplicates, second.errors) == (0, 2, [])
    assert ActivityEvent.objects.count() == 1


def test_last_active_at_moves_forward_whatever_order_events_arrive_in(db):
    learner = LearnerFactory.create(external_id="L1", last_active_at=None)

    record_events(payload=[event("E3", "L1", NOW - 3 * DAY)], now=NOW)
    record_events(
        payload=[event("E1", "L1", NOW - 10 * DAY), event("E2", "L1", NOW - DAY)], now=NOW
    )
    record_events(payload=[event("E0", "L1", NOW - 50 * DAY)], now=NOW)

    learner.refresh_from_db()
    assert learner.last_active_at == NOW - DAY
    assert ActivityEvent.objects.count() == 4


def test_naive_and_future_timestamps_are_refused(db):
    LearnerFactory.create(external_id="L1")

    result = record_events(
        payload=[
            {**event("E1", "L1", NOW), "occurred_at": "2026-11-30T10:00:00"},
            event("E2", "L1", NOW + 2 * dt.timedelta(hours=1)),
            event("E3", "L1", NOW + dt.timedelta(minutes=5)),
        ],
        now=NOW,
    )

    assert [e.errors for e in result.errors] == [
        {
            "occurred_at": [
                "The timestamp needs a UTC offset (e.g. 2026-11-30T14:05:00Z or +01:00)."
            ]
        },
        {"occurred_at": ["The timestamp is in the future."]},
    ]
    assert result.accepted == 1  # five minutes of clock skew is tolerated


def test_a_batch_takes_the_same_few_queries_for_ten_or_a_thousand_events(
    db, django_assert_max_num_queries
):
    learners = LearnerFactory.create_batch(100, last_active_at=NOW - 90 * DAY)
    batch = [
        event(f"E{i}", learners[i % 100].external_id, NOW - dt.timedelta(minutes=i))
        for i in range(1000)
    ]

    with django_assert_max_num_queries(15):
        result = record_events(payload=batch, now=NOW)

    assert result.accepted == 1000
    assert (
        Learner.objects.filter(last_active_at__gte=NOW - 2 * dt.timedelta(hours=2)).count() == 100
    )


def test_advance_last_active_never_moves_back(db):
    early = LearnerFactory.create(last_active_at=NOW - 10 * DAY)
    late = LearnerFactory.create(last_active_at=NOW - DAY)
    never = LearnerFactory.create(last_active_at=None)
    moment = NOW - 5 * DAY

    moved = advance_last_active(latest={early.pk: moment, late.pk: moment, never.pk: moment})

    assert moved == 2
    assert [
        Learner.objects.get(pk=learner.pk).last_active_at for learner in (early, late, never)
    ] == [moment, NOW - DAY, moment]
