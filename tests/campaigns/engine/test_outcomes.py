"""Recorded outcomes: after a pass, each enrollment's activity in its goal window is recorded,
and a report reads the recording plus the events since. Whatever is recorded, the outcome a
report sees is the definition's, checked here against a plain Python reading of it."""

from __future__ import annotations

import datetime as dt
import random
import threading

import pytest
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone

from campaigns.engine import outcomes as recording
from campaigns.engine.outcomes import record_outcomes, settled_ids
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
def test_the_outcome_is_the_same_recorded_or_not_whatever_came_since(
    seed, monkeypatch, admin_client
):
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
    # Only the enrollments with events in their window are written; the recording covers all.
    with_events = [
        e
        for e in Enrollment.objects.select_related("campaign")
        if ActivityEvent.objects.filter(
            learner_id=e.learner_id,
            occurred_at__gt=e.enrolled_at,
            occurred_at__lte=e.enrolled_at + days(e.campaign.goal_window_days),
        ).exists()
    ]
    assert recorded.enrollments == len(with_events) < len(people)
    last = Enrollment.objects.order_by("-pk").values_list("pk", flat=True)[0]
    assert set(Campaign.objects.values_list("outcomes_enrollment_id", flat=True)) == {last}
    assert outcomes.recording(list(Campaign.objects.values_list("pk", flat=True))).recorded
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

    # An event corrected and another deleted in the admin: no new id, yet the outcome follows.
    came_back = Enrollment.objects.filter(outcome_first_at__isnull=False).order_by("pk")
    first, second = came_back[0], came_back[1]
    assert first.outcome_first_at is not None and second.outcome_last_at is not None
    moved = ActivityEvent.objects.filter(
        learner_id=first.learner_id, occurred_at=first.outcome_first_at
    ).first()
    assert moved is not None
    # Moved to before enrolling: it no longer counts.
    before = timezone.localtime(first.enrolled_at - days(1)).replace(microsecond=0)
    changed = admin_client.post(
        reverse("admin:learners_activityevent_change", args=[moved.pk]),
        {
            "external_id": moved.external_id,
            "learner": moved.learner_id,
            "course": "",
            "kind": moved.kind,
            "occurred_at_0": before.strftime("%Y-%m-%d"),
            "occurred_at_1": before.strftime("%H:%M:%S"),
        },
    )
    assert changed.status_code == 302, changed.content[:2000]
    gone = ActivityEvent.objects.get(
        learner_id=second.learner_id, occurred_at=second.outcome_last_at
    )
    deleted = admin_client.post(
        reverse("admin:learners_activityevent_delete", args=[gone.pk]), {"post": "yes"}
    )
    assert deleted.status_code == 302
    assert not ActivityEvent.objects.filter(pk=gone.pk).exists()
    moved.refresh_from_db()
    assert moved.occurred_at == before
    assert relation(NOW) == reference(NOW)

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
    assert record_outcomes(now=NOW).enrollments == 1  # Bo has nothing to write
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
def test_events_deleted_from_the_admin_list_are_taken_out_of_the_recording(admin_client):
    c = campaign(goal_window_days=30)
    ada = enroll(c)
    early = activity(ada.learner_id, NOW + days(1))
    activity(ada.learner_id, NOW + days(5))
    record_outcomes(now=NOW)
    ada.refresh_from_db()
    assert ada.outcome_first_at == NOW + days(1)

    response = admin_client.post(
        reverse("admin:learners_activityevent_changelist"),
        {"action": "delete_selected", "_selected_action": [early.pk], "post": "yes"},
    )

    assert response.status_code == 302
    ada.refresh_from_db()
    assert (ada.outcome_first_at, ada.outcome_last_at) == (NOW + days(5), NOW + days(5))


@pytest.mark.django_db
def test_a_draft_campaign_is_not_recorded():
    draft = campaign(status=Campaign.Status.DRAFT)
    activity(enroll(draft).learner_id, NOW + days(1))
    assert record_outcomes(now=NOW).enrollments == 0
    draft.refresh_from_db()
    assert (draft.outcomes_enrollment_id, draft.outcomes_window_days) == (0, 0)


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
    people = learners(6)
    result = run_pass(now=day(0))
    assert result.enrolled == 6
    # Nobody has come back yet: nothing to write, and the recording covers all six.
    assert result.outcomes_recorded == 0
    drip.refresh_from_db()
    assert drip.outcomes_enrollment_id == Enrollment.objects.order_by("-pk")[0].pk
    # Ada comes back on day 2: the next pass writes her outcome, and hers only.
    activity(people[0].pk, day(2), ActivityEvent.Kind.MODULE_COMPLETED)
    assert run_pass(now=day(2)).outcomes_recorded == 1
    ada = Enrollment.objects.get(learner=people[0])
    assert (ada.outcome_first_at, ada.outcome_done_at) == (day(2), day(2))


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
        assert settled_ids() is None
        result = record_outcomes(now=NOW)
        assert result.settled is False
        assert Campaign.objects.get().outcomes_window_days == 0
    finally:
        release.set()
        worker.join(10)
    assert done.is_set()
    settled = settled_ids()
    assert settled is not None
    assert (settled.event_id, settled.enrollment_id) == (ActivityEvent.objects.get().pk, e.pk)
    assert record_outcomes(now=NOW).enrollments == 1
