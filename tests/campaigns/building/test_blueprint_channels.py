"""The blueprint on an installation with Slack and SMS: the manager nudge goes to managers by
Slack (email where Slack does not know them), and the high-risk version adds a text message
to the learner on day 1; it still launches, and a pass sends each the right way."""

from __future__ import annotations

import pytest
from django.test import override_settings

from campaigns.building import blueprint, services
from campaigns.content import sms
from campaigns.engine.run import run_pass
from campaigns.models import Audience, Campaign, Send, Step
from learners.models import Learner
from tests.campaigns.conftest import day
from tests.factories import (
    NOW,
    CourseProgressFactory,
    LearnerFactory,
    ManagerFactory,
    SegmentFactory,
)

pytestmark = pytest.mark.django_db

CHANNELS = {
    "SLACK_BOT_TOKEN": "xoxb-1",
    "TWILIO_ACCOUNT_SID": "AC1",
    "TWILIO_AUTH_TOKEN": "secret",
    "TWILIO_FROM": "+15017122661",
}


def make(*, compressed: bool) -> Campaign:
    return blueprint.create_blueprint_campaign(
        name="Compliance, high risk",
        segment=SegmentFactory.create(min_inactive_days=14, max_inactive_days=None),
        compressed=compressed,
        now=NOW,
        postal_address="Example Corp, 1 Learning Way, Berlin",
    )


def plan(campaign: Campaign) -> list[tuple[int, str, str, str]]:
    return list(
        campaign.steps.order_by("position").values_list("delay_days", "name", "audience", "channel")
    )


@override_settings(**CHANNELS)
def test_the_high_risk_version_adds_a_day_1_text_and_nudges_managers_by_slack() -> None:
    campaign = make(compressed=True)
    assert plan(campaign) == [
        (0, "We saved your progress", "learner", "email"),
        (1, "Day 1 text message", "learner", "sms"),
        (1, "Next module", "learner", "email"),
        (2, "Manager nudge", "learner", "email"),
        (2, "Manager nudge (Slack)", "manager", "slack"),
        (4, "Micro-incentive", "learner", "email"),
        (5, "Cohort early access", "learner", "email"),
        (7, "Final appeal", "learner", "email"),
    ]
    text = campaign.steps.get(channel="sms")
    assert sms.sms_problem(text.sms_body) is None
    slack = campaign.steps.get(channel="slack")
    assert slack.manager_subject and slack.manager_script
    assert services.campaign_problems(campaign) == []


@override_settings(**CHANNELS)
def test_the_standard_version_nudges_managers_by_slack_on_day_7_and_sends_no_text() -> None:
    campaign = make(compressed=False)
    assert [(d, a, c) for d, _n, a, c in plan(campaign) if d == 7] == [
        (7, "learner", "email"),
        (7, "manager", "slack"),
    ]
    assert not campaign.steps.filter(channel="sms").exists()


@override_settings(SLACK_BOT_TOKEN="", TWILIO_ACCOUNT_SID="", TWILIO_AUTH_TOKEN="", TWILIO_FROM="")
def test_without_slack_or_sms_every_step_is_an_email_as_before() -> None:
    campaign = make(compressed=True)
    assert len(plan(campaign)) == 6
    assert set(campaign.steps.values_list("channel", flat=True)) == {"email"}
    assert campaign.steps.get(delay_days=2).audience == Audience.BOTH


@override_settings(**CHANNELS)
def test_a_pass_texts_learners_with_consent_and_slacks_reachable_managers() -> None:
    campaign = make(compressed=True)
    services.launch_campaign(campaign=campaign, now=NOW)
    on_slack = ManagerFactory.create(slack_user_id="W012A3CDE")
    not_on_slack = ManagerFactory.create(slack_not_found_at=day(-1))
    texted = LearnerFactory.create(
        manager=on_slack, phone="+4915112345678", sms_consent_at=day(-30)
    )
    mailed = LearnerFactory.create(manager=not_on_slack)
    for learner in (texted, mailed):
        CourseProgressFactory.create(learner=learner)
    # A pass gives an enrollment one step; passes run every few minutes.
    for n in range(3):
        for hour in (9, 10):
            run_pass(now=day(n, hour=hour))
    day_1 = Step.objects.get(campaign=campaign, channel="sms")
    channels = dict(Send.objects.filter(step=day_1).values_list("learner_id", "channel"))
    assert channels == {texted.pk: "sms", mailed.pk: "email"}
    nudge = Step.objects.get(campaign=campaign, channel="slack")
    managers = dict(Send.objects.filter(step=nudge).values_list("learner_id", "channel"))
    assert managers == {texted.pk: "slack", mailed.pk: "email"}
    assert Learner.objects.count() == 2
