"""Recorded outcomes: after a pass, each enrollment's activity in its goal window is recorded,
and a report reads the recording plus the events since. Whatever is recorded, the outcome a
report sees is the definition's, checked here against a plain Python reading of it."""

from __future__ import annotations

import datetime as dt
import random
import threading

import pytest
from django.db import connection, transaction

from campaigns.engine import outcomes as recording
from campaigns.engine.outcomes import record_outcomes, settled_event_id
from campaigns.engine.run import run_pass
from campaigns.models import Campaign, Enrollment, SurveyResponse
from campaigns.reports import outcomes
from learners.models import ActivityEvent
from tests.campaigns.conftest import day
from tests.campaigns.engine.helpers import learners
from tests.campaigns.reports.conftest import activity, campaign, days, enroll
from tests.factories import NOW

KINDS = [k for k, _ in ActivityEvent.Kind.choices]

Outcome = tuple[dt.datetime | None, dt.datetime | None, dt.datetime | None]


def _moment(value: object) -> dt.datetime | None:
    if value is None:
        return None
    moment = value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(str(value))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC).replace(microsecond=moment.microsecond)


def reference(now: dt.datetime) -> dict[int, Outcome]:
    """The definition, read literally: first and last counted activity (or answer, where the
    campaign counts answers) and first module completed, after enrolling and within the
    window, up to ``now``."""
    result: dict[int, Outcome] = {}
    for e in Enrollment.objects.select_related("campaign").filter(enrolled_at__lte=now):
        c = e.campaign
        end = min(now, e.enrolled_at + dt.timedelta(days=c.goal_window_days))
        events = ActivityEvent.objects.filter(
            learner_id=e.learner_id, occurred_at__gt=e.enrolled_at, occurred_at__lte=end
        )
        kinds = c.goal_activity_kind_list
        counted = [ev.occurred_at for ev in events if not kinds or ev.kind in kinds]
        if c.survey_answer_counts:
            counted += SurveyResponse.objects.filter(
                learner_id=e.learner_id, created_at__gt=e.enrolled_at, created_at__lte=end
            ).values_list("created_at", flat=True)
        done = [ev.occurred_at for ev in events if ev.kind == ActivityEvent.Kind.MODULE_COMPLETED]
        result[e.pk] = (
            min(counted, default=None),
            max(counted, default=None),
            min(done, default=None),
        )
    return result


def relation(now: dt.datetime) -> dict[int, Outcome]:
    ids = list(Campaign.objects.values_list("pk", flat=True))
    rows = outcomes.read(
        campaign_ids=ids,
        now=now,
        select="SELECT o.id, o.first_at, o.last_at, o.done_at FROM o",
        select_params=[],
    )
    return {int(str(r[0])): (_moment(r[1]), _moment(r[2]), _moment(r[3])) for r in rows}


def population(rng: random.Random, c: Campaign, n: int) -> list[Enrollment]:
    made = []
    for _ in range(n):
        e = enroll(c, at=NOW - days(rng.uniform(0, 40)), holdout=rng.random() < 0.2)
        for _ in range(rng.randint(0, 5)):
            at = e.enrolled_at + days(rng.uniform(-10, 30))
            activity(e.learner_id, at, rng.choice(KINDS))
        made.append(e)
    return made


@pytest.mark.django_db
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_outcome_is_the_same_recorded_or_not_whatever_came_since(seed, monkeypatch):
    rng = random.Random(seed)
    any_kind = campaign(goal_window_days=10)
    modules = campaign(goal_window_days=20, goal_activity_kinds="module_started, module_completed")
    answers = campaign(goal_window_days=15, survey_answer_counts=True)
    people = [*population(rng, any_kind, 25), *population(rng, modules, 25)]
    people += population(rng, answers, 10)
    for e in people[-10:]:
        if rng.random() < 0.6:
            SurveyResponse.objects.create(
                learner_id=e.learner_id,
                campaign=answers,
                reason="no_time",
                created_at=e.enrolled_at + days(rng.uniform(-2, 20)),
            )

    # Nothing recorded: computed from every event.
    assert relation(NOW) == reference(NOW)

    recorded = record_outcomes(now=NOW)
    assert recorded.enrollments == len(people)
    assert not Enrollment.objects.filter(outcome_recorded=False).exists()
    assert relation(NOW) == reference(NOW)

    # Events since the recording, some of them back-dated into windows, and a new learner.
    for e in rng.sample(people, 15):
        activity(e.learner_id, e.enrolled_at + days(rng.uniform(0, 12)), rng.choice(KINDS))
    newcomer = enroll(modules, at=NOW - days(3))
    activity(newcomer.learner_id, NOW - days(1), ActivityEvent.Kind.MODULE_COMPLETED)
    assert relation(NOW) == reference(NOW)
    # The same with the later activity joined in the statement instead of handed over.
    monkeypatch.setattr(outcomes, "LATER_AS_VALUE_MAX", 0)
    assert relation(NOW) == reference(NOW)
    monkeypatch.undo()

    # A report for an earlier moment: recorded activity after it is not known then.
    assert relation(NOW - days(8)) == reference(NOW - days(8))

    # Staff change the goal window: the recording no longer holds until it is redone.
    modules.goal_window_days = 5
    modules.save()
    assert relation(NOW) == reference(NOW)
    record_outcomes(now=NOW)
    modules.refresh_from_db()
    assert modules.outcomes_window_days == 5
    assert relation(NOW) == reference(NOW)


@pytest.mark.django_db
def test_a_recording_takes_only_the_enrollments_that_need_it():
    c = campaign(goal_window_days=30)
    ada, bo = enroll(c), enroll(c)
    activity(ada.learner_id, NOW + days(2))
    assert record_outcomes(now=NOW).enrollments == 2
    ada.refresh_from_db()
    assert (ada.outcome_first_at, ada.outcome_last_at) == (NOW + days(2), NOW + days(2))
    assert ada.outcome_done_at is None

    # Nothing new: nothing written.
    assert record_outcomes(now=NOW).enrollments == 0

    # Bo comes back: only Bo's enrollment is recorded again.
    activity(bo.learner_id, NOW + days(3), ActivityEvent.Kind.MODULE_COMPLETED)
    assert record_outcomes(now=NOW).enrollments == 1
    bo.refresh_from_db()
    assert bo.outcome_done_at == NOW + days(3)
    c.refresh_from_db()
    assert c.outcomes_event_id == ActivityEvent.objects.order_by("-pk").values_list("pk")[0][0]


@pytest.mark.django_db
def test_a_draft_campaign_is_not_recorded():
    draft = campaign(status=Campaign.Status.DRAFT)
    enroll(draft)
    assert record_outcomes(now=NOW).enrollments == 0
    assert Enrollment.objects.get().outcome_recorded is False


@pytest.mark.django_db
def test_saving_a_campaign_loaded_before_a_recording_keeps_the_recording():
    c = campaign()
    enroll(c)
    stale = Campaign.objects.get(pk=c.pk)  # an admin form opened before the pass
    activity(Enrollment.objects.get().learner_id, NOW + days(1))
    record_outcomes(now=NOW)
    stale.name = "Renamed"
    stale.save()
    c.refresh_from_db()
    assert c.name == "Renamed"
    assert (c.outcomes_window_days, c.outcomes_event_id) == (30, ActivityEvent.objects.get().pk)


def test_the_pass_records_the_outcomes_of_the_learners_it_enrolls(drip: Campaign) -> None:
    learners(6)
    result = run_pass(now=day(0))
    assert result.enrolled == 6
    assert result.outcomes_recorded == 6
    assert not Enrollment.objects.filter(campaign=drip, outcome_recorded=False).exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_events_still_being_stored_hold_the_recording_back(monkeypatch):
    """An id handed out to a transaction that has not committed yet must not fall below the
    recorded bound: the recording waits for it, and gives up for this pass if it lasts."""
    monkeypatch.setattr(recording, "SETTLE_TIMEOUT", "100ms")
    c = campaign()
    e = enroll(c)
    inserted, release, done = threading.Event(), threading.Event(), threading.Event()

    def store_slowly() -> None:
        try:
            with transaction.atomic():
                activity(e.learner_id, NOW + days(1))
                inserted.set()
                release.wait(10)
        finally:
            connection.close()
            done.set()

    worker = threading.Thread(target=store_slowly)
    worker.start()
    assert inserted.wait(10)
    try:
        assert settled_event_id() is None
        result = record_outcomes(now=NOW)
        assert result.settled is False
        assert not Enrollment.objects.filter(outcome_recorded=True).exists()
    finally:
        release.set()
        worker.join(10)
    assert done.is_set()
    assert settled_event_id() == ActivityEvent.objects.get().pk
    assert record_outcomes(now=NOW).enrollments == 1
