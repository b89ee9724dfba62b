"""Releasing sends: quiet hours, sending days, the weekly cap, lost tasks handed over again."""

from __future__ import annotations

import datetime as dt

import pytest

from campaigns.engine.release import hand_over_stale
from campaigns.engine.run import run_pass
from campaigns.models import Campaign, Enrollment, Send
from learners.models import Learner
from tests.campaigns.conftest import day, make_drip
from tests.campaigns.engine.helpers import learners
from tests.factories import (
    CampaignFactory,
    StepFactory,
)

pytestmark = pytest.mark.django_db


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


def test_a_queued_send_whose_task_was_lost_is_handed_over_again(drip: Campaign) -> None:
    learners(1)
    lost: list[list[int]] = []
    run_pass(now=day(0), hand_over=lost.append)
    # The broker lost the task; the next pass within 15 minutes leaves it, a later one retries.
    assert hand_over_stale(now=day(0, hour=9) + dt.timedelta(minutes=5)) == []
    later = day(0, hour=10)
    assert hand_over_stale(now=later) == [Send.objects.get().pk]


def test_a_backlog_of_lost_sends_is_handed_over_a_bounded_slice_per_pass(
    drip: Campaign, settings: object
) -> None:
    settings.REHAND_MAX_PER_PASS = 2  # type: ignore[attr-defined]
    learners(5)
    run_pass(now=day(0), hand_over=lambda ids: None)  # the tasks are lost
    later = day(0, hour=10)
    first = hand_over_stale(now=later)
    second = hand_over_stale(now=later)
    third = hand_over_stale(now=later)
    assert (len(first), len(second), len(third)) == (2, 2, 1)
    assert sorted(first + second + third) == sorted(Send.objects.values_list("pk", flat=True))
    assert hand_over_stale(now=later) == []
