"""Enrollment: segment members join once, one campaign at a time, with a stable holdout."""

from __future__ import annotations

import pytest
from django.core import mail

from campaigns.engine.buckets import HOLDOUT, bucket
from campaigns.engine.run import run_pass
from campaigns.models import Campaign, Enrollment, Send
from tests.campaigns.conftest import day, make_drip
from tests.campaigns.engine.helpers import learners, run
from tests.factories import (
    LearnerFactory,
)

pytestmark = pytest.mark.django_db


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


def test_an_active_campaign_without_steps_enrolls_and_sends_nothing(db: None) -> None:
    # Launch refuses this, but a campaign can lose its steps after launch; the pass must not fail.
    campaign = make_drip()
    campaign.steps.all().delete()
    learners(2)
    result = run_pass(now=day(0))
    assert (result.enrolled, result.sends_created, result.failed_campaigns) == (2, 0, 0)
    assert set(Enrollment.objects.values_list("next_step", flat=True)) == {None}
