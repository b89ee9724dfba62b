"""The evaluation pass, called with explicit moments: day 0, 3, 7 … of a drip in seconds."""

from __future__ import annotations

from collections import Counter
from unittest import mock

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from campaigns.delivery.deliver import deliver_queued
from campaigns.delivery.record import reconcile_stale
from campaigns.engine.enroll import enroll_segment_members
from campaigns.engine.exits import end_reactivated, sunset_finished
from campaigns.engine.release import release_due_sends
from campaigns.engine.run import run_pass
from campaigns.engine.sends import create_due_sends
from campaigns.models import Campaign, Enrollment, PassLock, Send, Step
from campaigns.tasks import enqueue_delivery
from learners.models import Learner
from tests.campaigns.conftest import day, make_drip
from tests.campaigns.engine.helpers import learners, received, run

pytestmark = pytest.mark.django_db


def test_it_runs_the_drip_from_day_0_to_30_each_step_on_its_day(drip: Campaign) -> None:
    people = learners(3)
    expected: Counter[tuple[str, str]] = Counter()
    for n in range(31):
        run(n)
        for delay, audience in [(0, "l"), (3, "l"), (7, "b"), (10, "l"), (14, "l"), (21, "l")]:
            if delay == n:
                for learner in people:
                    expected[(learner.email, f"Day {delay}")] += 1
                    if audience == "b":
                        assert learner.manager is not None
                        expected[(learner.manager.email, f"Day {delay}")] += 1
        steps_so_far = Counter(k for k in received().elements() if k[1].startswith("Day"))
        assert steps_so_far == expected, f"day {n}"
    # Day 28: sunset, and each manager gets a hand-off note; nothing is ever sent twice.
    assert all(count == 1 for count in received().values())
    handoffs = [m for m in mail.outbox if "hasn't returned" in m.subject]
    assert sorted(m.to[0] for m in handoffs) == sorted(p.manager.email for p in people)  # type: ignore[union-attr]
    assert set(Enrollment.objects.values_list("status", flat=True)) == {"sunset"}
    assert Learner.objects.filter(sunset_at=day(28)).count() == 3
    assert not Send.objects.exclude(status=Send.Status.SENT).exists()


def test_a_return_after_the_send_was_queued_is_caught_at_claim_time(drip: Campaign) -> None:
    (learner,) = learners(1)
    run_pass(now=day(0))
    Learner.objects.filter(pk=learner.pk).update(last_active_at=day(0, hour=10))
    result = deliver_queued(now=day(0, hour=10))
    assert (result.sent, result.skipped) == (0, 1)
    assert Send.objects.get().skip_reason == "learner came back"


def test_a_paused_campaign_sends_nothing(drip: Campaign) -> None:
    learners(2)
    run_pass(now=day(0))
    Send.objects.update(status="scheduled")
    Campaign.objects.filter(pk=drip.pk).update(status=Campaign.Status.PAUSED)
    assert run_pass(now=day(0, hour=10)).queued == 0
    assert deliver_queued(now=day(0, hour=10)).claimed == 0


def _queries_per_pass(population: int) -> list[int]:
    make_drip(holdout_percent=10)
    learners(population)
    counts = []
    for n in (0, 3, 7, 28):
        with CaptureQueriesContext(connection) as queries:
            run_pass(now=day(n))
        counts.append(len(queries))
        Send.objects.filter(status="queued").update(status="sent", sent_at=day(n))
    return counts


def test_the_number_of_queries_does_not_grow_with_learners(db: None) -> None:
    small = _queries_per_pass(20)
    Send.objects.all().delete()
    Enrollment.objects.all().delete()
    Learner.objects.all().delete()
    Campaign.objects.all().delete()
    large = _queries_per_pass(200)
    assert small == large, (small, large)
    assert max(large) <= 60


def test_it_hands_queued_sends_to_celery_in_chunks_after_commit(
    drip: Campaign, settings: object, django_capture_on_commit_callbacks: object
) -> None:
    settings.DELIVERY_BATCH_SIZE = 3  # type: ignore[attr-defined]
    learners(7)
    with (
        mock.patch("campaigns.tasks.deliver_sends.delay") as delay,
        django_capture_on_commit_callbacks(execute=True),  # type: ignore[operator]
    ):
        result = run_pass(now=day(0), hand_over=enqueue_delivery)
    chunks = [call.args[0] for call in delay.call_args_list]
    assert [len(c) for c in chunks] == [3, 3, 1]
    assert sorted(pk for chunk in chunks for pk in chunk) == sorted(
        Send.objects.values_list("pk", flat=True)
    )
    assert result.queued == 7
    assert not Send.objects.filter(enqueued_at__isnull=True).exists()


def test_a_sending_row_left_by_a_dead_worker_becomes_unconfirmed(drip: Campaign) -> None:
    learners(1)
    run_pass(now=day(0))
    Send.objects.update(status="sending", claimed_at=day(0))
    assert reconcile_stale(now=day(0, hour=10)) == 1
    run_pass(now=day(0, hour=10))
    assert Send.objects.get().status == "unconfirmed"
    assert deliver_queued(now=day(0, hour=10)).claimed == 0


def test_the_stages_can_be_called_one_by_one(db: None) -> None:
    campaign = make_drip()
    # The first step on day 1: enrolling creates no send yet.
    Step.objects.filter(campaign=campaign, position=1).update(delay_days=1)
    returner, stayer = learners(2)
    enrolled = enroll_segment_members(campaign=campaign, now=day(0))
    assert (enrolled.enrolled, enrolled.holdout, enrolled.sends.created) == (2, 0, 0)
    assert create_due_sends(campaign=campaign, now=day(0)).created == 0
    created = create_due_sends(campaign=campaign, now=day(1))
    assert (created.created, len(created.queued_ids)) == (2, 2)
    assert set(Enrollment.objects.values_list("next_step", flat=True)) == {2}

    # A scheduled send (e.g. a welcome back) is released by release_due_sends.
    Learner.objects.filter(pk=returner.pk).update(last_active_at=day(2))
    exits = end_reactivated(campaign=campaign, now=day(2))
    assert (exits.ended, exits.sends_created) == (1, 1)
    welcome = Send.objects.get(kind=Send.Kind.WELCOME_BACK)
    assert welcome.status == "scheduled"
    released = release_due_sends(now=day(2), hand_over=True)
    assert (released.queued, released.send_ids) == (1, [welcome.pk])

    Enrollment.objects.filter(learner=stayer).update(next_step=None, next_due_at=day(20))
    assert sunset_finished(campaign=campaign, now=day(19)).ended == 0
    sunset = sunset_finished(campaign=campaign, now=day(20))
    assert (sunset.ended, sunset.sends_created) == (1, 1)
    handoff = Send.objects.get(kind=Send.Kind.HANDOFF)
    assert handoff.to_email == stayer.manager.email  # type: ignore[union-attr]
    assert Learner.objects.get(pk=stayer.pk).sunset_at == day(20)


def test_deleting_a_learner_removes_their_enrollments_and_sends(drip: Campaign) -> None:
    # Send.learner and Send.campaign carry no database constraint of their own (see the model);
    # the ORM's cascade still takes a deleted learner's sends with them.
    leaving, staying = learners(2)
    run(0)
    assert Send.objects.filter(learner=leaving).count() == 1
    leaving.delete()
    assert Send.objects.filter(learner_id=leaving.pk).count() == 0
    assert Enrollment.objects.filter(learner_id=leaving.pk).count() == 0
    assert Send.objects.filter(learner=staying).count() == 1


def test_one_campaigns_error_does_not_undo_the_others(drip: Campaign) -> None:
    other = make_drip(priority=200)
    learners(2)
    real = enroll_segment_members

    def fails_for_the_first(*, campaign: Campaign, now: object) -> object:
        if campaign.pk == drip.pk:
            real(campaign=campaign, now=now)  # type: ignore[arg-type]
            raise RuntimeError("segment rule broke")
        return real(campaign=campaign, now=now)  # type: ignore[arg-type]

    with mock.patch("campaigns.engine.run.enroll_segment_members", fails_for_the_first):
        result = run_pass(now=day(0))
    assert result.failed_campaigns == 1
    # The failing campaign's enrollments were rolled back; the other took the learners.
    assert not Enrollment.objects.filter(campaign=drip).exists()
    assert Enrollment.objects.filter(campaign=other).count() == 2
    lock = PassLock.objects.get()
    assert lock.last_errors.startswith(f"{drip.slug}: RuntimeError: segment rule broke")


def test_the_pass_lock_records_when_the_pass_really_ran_and_how_long(drip: Campaign) -> None:
    learners(3)
    before = timezone.now()
    run_pass(now=day(5))
    lock = PassLock.objects.get()
    assert lock.last_started_at == day(5)
    assert lock.wall_started_at is not None and lock.wall_finished_at is not None
    assert before <= lock.wall_started_at <= lock.wall_finished_at <= timezone.now()
    assert lock.last_duration_ms is not None and lock.last_duration_ms >= 0
    assert lock.last_errors == ""


def test_the_pass_runs_on_a_queue_of_its_own() -> None:
    from reengagement.celery import app

    route = app.amqp.router.route({}, "campaigns.tasks.run_pass")
    assert route["queue"].name == "pass"
    assert app.amqp.router.route({}, "campaigns.tasks.deliver_sends")["queue"].name == "celery"


def test_a_learner_who_returns_while_the_campaign_is_paused_is_ended_as_reactivated(
    drip: Campaign,
) -> None:
    learner, stays = learners(2)
    run(0)
    Campaign.objects.filter(pk=drip.pk).update(status=Campaign.Status.PAUSED)
    Learner.objects.filter(pk=learner.pk).update(last_active_at=day(2))
    mail.outbox.clear()
    result = run(3)
    assert result.reactivated == 1
    ended = Enrollment.objects.get(learner=learner)
    assert (ended.status, ended.reactivated_at) == ("reactivated", day(2))
    # Paused: no step goes out and no milestone email is sent; the other learner waits.
    assert mail.outbox == []
    assert Enrollment.objects.get(learner=stays).status == "active"
