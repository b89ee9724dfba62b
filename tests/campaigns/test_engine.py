"""The evaluation pass, called with explicit moments: day 0, 3, 7 … of a drip in seconds."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from unittest import mock

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext

from campaigns.delivery.deliver import deliver_queued
from campaigns.delivery.record import reconcile_stale
from campaigns.engine.buckets import HOLDOUT, VARIANT, bucket
from campaigns.engine.enroll import enroll_segment_members
from campaigns.engine.exits import end_reactivated, sunset_finished
from campaigns.engine.release import hand_over_stale, release_due_sends
from campaigns.engine.results import PassResult
from campaigns.engine.run import run_pass
from campaigns.engine.sends import create_due_sends
from campaigns.feedback import subscriptions
from campaigns.models import Audience, Campaign, Enrollment, Send, Step
from campaigns.tasks import enqueue_delivery
from learners.models import Learner
from tests.campaigns.conftest import day, make_drip
from tests.factories import (
    CampaignFactory,
    CourseProgressFactory,
    LearnerFactory,
    StepFactory,
    VariantFactory,
)

pytestmark = pytest.mark.django_db


def learners(n: int, **fields: object) -> list[Learner]:
    return [
        CourseProgressFactory.create(learner=LearnerFactory.create(**fields)).learner
        for _ in range(n)
    ]


def run(n: int, *, hour: int = 9) -> PassResult:
    """A pass on day ``n`` and delivery of what it queued, like ``run_pass --deliver``."""
    result = run_pass(now=day(n, hour=hour))
    deliver_queued(now=day(n, hour=hour))
    return result


def received() -> Counter[tuple[str, str]]:
    return Counter((m.to[0], m.subject.split(":")[0]) for m in mail.outbox)


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


def test_it_enrolls_segment_members_once_and_never_twice(drip: Campaign) -> None:
    members = learners(4)
    LearnerFactory.create(last_active_at=day(-2))  # active: not in the segment
    LearnerFactory.create(unsubscribed_at=day(-1))  # never in a segment
    first = run_pass(now=day(0))
    again = run_pass(now=day(0))
    assert (first.enrolled, first.sends_created, first.queued) == (4, 4, 4)
    assert (again.enrolled, again.sends_created, again.queued) == (0, 0, 0)
    enrolled = Enrollment.objects.filter(campaign=drip)
    assert sorted(enrolled.values_list("learner_id", flat=True)) == sorted(m.pk for m in members)
    first_enrollment = enrolled.get(learner=members[0])
    assert first_enrollment.course == members[0].progress.get().course
    assert (first_enrollment.next_step, first_enrollment.next_due_at) == (2, day(3))


def test_it_puts_a_learner_in_one_campaign_at_a_time_by_priority(drip: Campaign) -> None:
    learners(3)
    later = make_drip(priority=200, segment=drip.segment)
    drip.priority = 10
    drip.save()
    run_pass(now=day(0))
    assert Enrollment.objects.filter(campaign=drip).count() == 3
    assert not Enrollment.objects.filter(campaign=later).exists()


def test_it_keeps_the_holdout_deterministic_and_sends_them_nothing(db: None) -> None:
    campaign = make_drip(holdout_percent=20)
    people = learners(150)
    result = run(0)
    holdout = set(Enrollment.objects.filter(is_holdout=True).values_list("learner_id", flat=True))
    expected = {
        p.pk for p in people if bucket(p.pk, purpose=HOLDOUT, salt=campaign.pk, modulus=100) < 20
    }
    assert holdout == expected and result.holdout == len(expected)
    assert 15 <= len(holdout) <= 50
    for n in range(1, 31):
        run(n)
    assert not Send.objects.filter(learner_id__in=holdout).exists()
    assert not [m for m in mail.outbox if any(p.email in m.to for p in people if p.pk in holdout)]
    # Holdout learners leave with the treated ones, so both groups stay comparable.
    assert set(Enrollment.objects.filter(is_holdout=True).values_list("status", flat=True)) == {
        "sunset"
    }


def test_a_learner_who_returns_on_day_5_gets_no_further_step(drip: Campaign) -> None:
    stays, returns = learners(2)
    run(0)
    run(3)
    returns.last_active_at = day(5)
    returns.save()
    result = run(5)
    assert result.reactivated == 1
    enrollment = Enrollment.objects.get(learner=returns)
    assert (enrollment.status, enrollment.reactivated_at) == ("reactivated", day(5))
    for n in range(6, 31):
        run(n)
    mine = [m.subject for m in mail.outbox if m.to == [returns.email]]
    assert mine == [
        f"Day 0: {returns.first_name}, your course is waiting",
        f"Day 3: {returns.first_name}, your course is waiting",
        f"Welcome back, {returns.first_name}!",
    ]
    assert len([m for m in mail.outbox if m.to == [stays.email]]) == 6


def test_a_return_after_the_send_was_queued_is_caught_at_claim_time(drip: Campaign) -> None:
    (learner,) = learners(1)
    run_pass(now=day(0))
    Learner.objects.filter(pk=learner.pk).update(last_active_at=day(0, hour=10))
    result = deliver_queued(now=day(0, hour=10))
    assert (result.sent, result.skipped) == (0, 1)
    assert Send.objects.get().skip_reason == "learner came back"


def test_an_unsubscribe_stops_the_next_step(drip: Campaign) -> None:
    leaver, stayer = learners(2)
    run(0)
    subscriptions.unsubscribe_learner(learner_id=leaver.pk, now=day(1))
    run(3)
    assert [m.to for m in mail.outbox].count([leaver.email]) == 1
    assert [m.to for m in mail.outbox].count([stayer.email]) == 2


def test_sends_for_suppressed_learners_are_skipped_with_the_reason(drip: Campaign) -> None:
    (learner,) = learners(1)
    run(0)
    Learner.objects.filter(pk=learner.pk).update(suppressed_at=day(1), suppression_reason="bounce")
    result = run(3)
    assert result.skipped == 1
    skipped = Send.objects.get(step__position=2)
    assert (skipped.status, skipped.skip_reason) == ("skipped", "address suppressed")


def test_manager_sends_are_skipped_without_a_manager_or_after_opt_out(drip: Campaign) -> None:
    orphan = learners(1, manager=None)[0]
    opted = learners(1)[0]
    assert opted.manager is not None
    for n in (0, 3):
        run(n)
    subscriptions.opt_out_manager(manager_id=opted.manager.pk, now=day(4))
    run(7)
    manager_sends = Send.objects.filter(step__position=3, audience=Audience.MANAGER)
    reasons = dict(manager_sends.values_list("learner_id", "skip_reason"))
    assert reasons == {orphan.pk: "learner has no manager", opted.pk: "manager opted out"}
    # The learners themselves still get the day-7 email.
    assert Send.objects.filter(step__position=3, audience="learner", status="sent").count() == 2


def test_quiet_hours_postpone_to_the_next_morning_in_tokyo(drip: Campaign) -> None:
    learners(1, time_zone="Asia/Tokyo")
    # 12:00 UTC is 21:00 in Tokyo: quiet.
    result = run_pass(now=day(0, hour=12))
    send = Send.objects.get()
    assert (result.postponed, send.status, send.postponed_reason) == (1, "scheduled", "quiet hours")
    # 08:00 on Wednesday in Tokyo.
    assert send.due_at == dt.datetime(2026, 12, 1, 23, 0, tzinfo=dt.UTC)
    assert run_pass(now=dt.datetime(2026, 12, 1, 22, 59, tzinfo=dt.UTC)).queued == 0
    assert run_pass(now=send.due_at).queued == 1


def test_sends_wait_for_a_sending_day_across_a_dst_change_in_new_york(db: None) -> None:
    campaign = make_drip()
    (learner,) = learners(1, time_zone="America/New_York")
    # Friday 30 October 2026, 23:00 in New York (EDT) = Saturday 03:00 UTC: quiet, then the
    # weekend, and clocks go back on Sunday 1 November.
    friday_night = dt.datetime(2026, 10, 31, 3, 0, tzinfo=dt.UTC)
    Learner.objects.filter(pk=learner.pk).update(last_active_at=friday_night - dt.timedelta(40))
    run_pass(now=friday_night)
    send = Send.objects.get(campaign=campaign)
    # Monday 08:00 EST is 13:00 UTC (it would be 12:00 UTC in summer time).
    assert send.due_at == dt.datetime(2026, 11, 2, 13, 0, tzinfo=dt.UTC)
    assert run_pass(now=send.due_at - dt.timedelta(hours=1)).queued == 0
    assert run_pass(now=send.due_at).queued == 1


def test_the_weekly_cap_postpones_and_never_drops(drip: Campaign) -> None:
    (learner,) = learners(1)
    other = CampaignFactory.create()
    old = Enrollment.objects.create(
        campaign=other, learner=learner, enrolled_at=day(-10), status="exited"
    )
    for hours in (-6, -5, -4):
        Send.objects.create(
            enrollment=old,
            campaign=other,
            step=StepFactory.create(campaign=other),
            learner=learner,
            audience="learner",
            status="sent",
            due_at=day(hours),
            sent_at=day(hours),
            created_at=day(hours),
            to_email=learner.email,
        )
    result = run_pass(now=day(0))
    send = Send.objects.get(campaign=drip)
    assert (result.postponed, send.status, send.postponed_reason) == (1, "scheduled", "weekly cap")
    # When the oldest of the three leaves the 7-day window.
    assert send.due_at == day(1)
    assert run_pass(now=day(1)).queued == 1


def test_variants_follow_their_weights_and_a_learner_keeps_theirs(db: None) -> None:
    campaign = make_drip()
    first: Step = campaign.steps.get(position=1)
    a = VariantFactory.create(step=first, label="A", weight=80, subject="A: {{ first_name }}")
    b = VariantFactory.create(step=first, label="B", weight=20, subject="B: {{ first_name }}")
    people = learners(200)
    run(0)
    chosen = dict(Send.objects.values_list("learner_id", "variant_id"))
    for p in people:
        share = bucket(p.pk, purpose=VARIANT, salt=first.pk, modulus=100)
        assert chosen[p.pk] == (a.pk if share < 80 else b.pk)
    assert 130 <= list(chosen.values()).count(a.pk) <= 190
    subjects = {m.to[0]: m.subject[0] for m in mail.outbox}
    assert all(subjects[p.email] == ("A" if chosen[p.pk] == a.pk else "B") for p in people)


def test_a_variant_can_change_a_steps_timing(db: None) -> None:
    campaign = make_drip()
    second: Step = campaign.steps.get(position=2)
    VariantFactory.create(step=second, label="A", weight=50)
    early = VariantFactory.create(step=second, label="B", weight=50, delay_days=2)
    learners(40)
    run(0)
    run(2)
    on_day_2 = Send.objects.filter(step=second)
    assert on_day_2.exists()
    assert set(on_day_2.values_list("variant_id", flat=True)) == {early.pk}
    run(3)
    assert Send.objects.filter(step=second).count() == 40


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


def test_a_queued_send_whose_task_was_lost_is_handed_over_again(drip: Campaign) -> None:
    learners(1)
    lost: list[list[int]] = []
    run_pass(now=day(0), hand_over=lost.append)
    # The broker lost the task; the next pass within 15 minutes leaves it, a later one retries.
    assert hand_over_stale(now=day(0, hour=9) + dt.timedelta(minutes=5)) == []
    later = day(0, hour=10)
    assert hand_over_stale(now=later) == [Send.objects.get().pk]


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


def test_holdout_learners_get_no_welcome_back_and_no_handoff(db: None) -> None:
    make_drip(holdout_percent=50)
    people = learners(20)
    run_pass(now=day(0))
    holdout = Enrollment.objects.filter(is_holdout=True)
    assert holdout.exists()
    Learner.objects.filter(pk__in=holdout.values("learner_id")[:1]).update(last_active_at=day(1))
    run_pass(now=day(1))
    for n in range(2, 31):
        run_pass(now=day(n))
    holdout_learners = set(holdout.values_list("learner_id", flat=True))
    assert not Send.objects.filter(learner_id__in=holdout_learners).exists()
    assert Send.objects.filter(kind=Send.Kind.HANDOFF).count() == len(people) - len(
        holdout_learners
    )


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
