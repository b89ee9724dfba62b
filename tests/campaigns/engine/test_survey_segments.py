"""The survey feeds the campaign: an "answered: no time" segment enrolls exactly those who said
so, and a campaign that counts an answer as coming back ends their enrollment for it."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core import mail

from campaigns.building.forms import SegmentForm
from campaigns.building.selectors import segment_rules
from campaigns.engine.run import run_pass
from campaigns.engine.segments import segment_learners
from campaigns.feedback import subscriptions
from campaigns.models import Campaign, Enrollment, Send, SurveyReason
from tests.campaigns.conftest import day, make_drip
from tests.campaigns.engine.helpers import learners, run
from tests.factories import SegmentFactory

pytestmark = pytest.mark.django_db


def test_the_migration_seeds_the_answers_the_survey_offered() -> None:
    assert list(SurveyReason.objects.values_list("code", "label")) == [
        ("no_time", "I didn't have time"),
        ("not_relevant", "The course isn't relevant to my work"),
        ("too_hard", "It was too hard or too long"),
        ("technical", "Technical problems"),
        ("forgot", "I forgot about it"),
        ("other", "Something else"),
    ]


def _answer(learner_id: int, reason: str, *, at_day: float = 0) -> None:
    subscriptions.record_survey_answer(
        learner_id=learner_id,
        send_id=None,
        reason=reason,
        comment="",
        now=day(0) + dt.timedelta(days=at_day),
    )


def test_a_no_time_answer_puts_the_learner_in_the_follow_up_segment_and_only_those_enroll(
    db: None,
) -> None:
    busy, busy_too, irrelevant, silent = learners(4)
    _answer(busy.pk, "no_time")
    _answer(busy_too.pk, "not_relevant")
    _answer(busy_too.pk, "no_time")
    _answer(irrelevant.pk, "not_relevant")
    follow_up = make_drip(
        name="Short modules for the busy",
        segment=SegmentFactory.create(
            name="Said no time", min_inactive_days=30, max_inactive_days=59, answered="no_time"
        ),
    )
    members = segment_learners(follow_up.segment, now=day(1))
    assert sorted(members.values_list("pk", flat=True)) == sorted([busy.pk, busy_too.pk])
    assert segment_rules(follow_up.segment) == "inactive 30–59 days · answered: no_time"

    run(1)
    assert sorted(Enrollment.objects.values_list("learner_id", flat=True)) == sorted(
        [busy.pk, busy_too.pk]
    )
    assert sorted(m.to[0] for m in mail.outbox) == sorted([busy.email, busy_too.email])
    assert not Send.objects.filter(learner__in=[irrelevant, silent]).exists()


def test_staff_pick_answers_from_the_list_in_the_segment_form() -> None:
    SurveyReason.objects.create(code="manager_said_no", label="My manager said not now")
    form = SegmentForm(data={"name": "Follow-up", "answered": ["no_time", "manager_said_no"]})
    assert form.is_valid(), form.errors
    segment = form.save()
    assert segment.answered_list == ["no_time", "manager_said_no"]
    bad = SegmentForm(data={"name": "Other", "answered": ["nonsense"]})
    assert not bad.is_valid()
    assert "Select a valid choice. nonsense is not one of the available choices." in str(
        bad.errors["answered"]
    )


@pytest.mark.parametrize("counts", [True, False])
def test_an_answer_ends_the_enrollment_only_where_the_campaign_counts_it(counts: bool) -> None:
    campaign = make_drip(survey_answer_counts=counts)
    answering, other = learners(2)
    run(0)
    _answer(answering.pk, "no_time", at_day=1)
    run(3)
    enrollment = Enrollment.objects.get(learner=answering)
    day_3 = [m.to[0] for m in mail.outbox if m.subject.startswith("Day 3")]
    if counts:
        assert enrollment.status == Enrollment.Status.REACTIVATED
        assert enrollment.reactivated_at == day(1)
        assert enrollment.exit_reason == "answered the survey"
        assert day_3 == [other.email]
        # "Welcome back" is for someone back in the LMS, not for an answer alone.
        assert not Send.objects.filter(learner=answering, kind=Send.Kind.WELCOME_BACK).exists()
    else:
        assert enrollment.status == Enrollment.Status.ACTIVE
        assert sorted(day_3) == sorted([answering.email, other.email])
    assert Campaign.objects.get(pk=campaign.pk).survey_answer_counts is counts


def test_an_answer_from_before_enrolling_is_not_a_return(db: None) -> None:
    (learner,) = learners(1)
    _answer(learner.pk, "no_time", at_day=-1)
    make_drip(survey_answer_counts=True)
    run(0)
    run_pass(now=day(1))
    assert Enrollment.objects.get(learner=learner).status == Enrollment.Status.ACTIVE
