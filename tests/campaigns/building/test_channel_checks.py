"""A step on a channel that cannot reach its audience, is not set up here, or whose text
message can exceed two segments is refused at launch (and at save), with a message that says
what to do."""

from __future__ import annotations

import pytest
from django.test import override_settings

from campaigns.building import services
from campaigns.building.forms import StepForm
from campaigns.content import sms
from campaigns.models import Audience, Campaign, Channel, Step
from learners.models import TeamChannel
from tests.campaigns.building.test_services import launch_problems
from tests.factories import NOW, StepFactory

pytestmark = pytest.mark.django_db

TWILIO = {
    "TWILIO_ACCOUNT_SID": "AC123",
    "TWILIO_AUTH_TOKEN": "secret",
    "TWILIO_FROM": "+15005550006",
}
SHORT = "Hi {{ first_name }}, 10 minutes gets you back on track:"


def manager_step(channel: str) -> Step:
    return StepFactory.create(
        channel=channel,
        audience=Audience.MANAGER,
        manager_subject="{{ first_name }} paused",
        manager_body="A word from you helps.",
    )


@override_settings(SLACK_BOT_TOKEN="")
def test_a_slack_step_without_a_bot_token_is_refused() -> None:
    step = manager_step(Channel.SLACK)
    assert launch_problems(step.campaign) == [
        f"Step {step.position} ({step.subject}): goes by Slack direct message (managers) "
        "but Slack is not configured (set SLACK_BOT_TOKEN to the bot's token)"
    ]


@override_settings(SLACK_BOT_TOKEN="xoxb-1")
def test_a_slack_step_with_a_token_launches() -> None:
    step = manager_step(Channel.SLACK)
    campaign = services.launch_campaign(campaign=step.campaign, now=NOW)
    assert campaign.status == Campaign.Status.ACTIVE


def test_a_teams_step_needs_a_team_channel() -> None:
    step = manager_step(Channel.TEAMS)
    (problem,) = launch_problems(step.campaign)
    assert problem.endswith(
        "goes by Microsoft Teams team channel (managers) but no team has a Teams channel yet "
        "(add one under Learners › Teams channels)"
    )
    TeamChannel.objects.create(team="EMEA", webhook_url="https://example.webhook.office.com/x")
    services.launch_campaign(campaign=step.campaign, now=NOW)


@override_settings(TWILIO_ACCOUNT_SID="", TWILIO_AUTH_TOKEN="", TWILIO_FROM="")
def test_an_sms_step_without_twilio_settings_is_refused() -> None:
    step = StepFactory.create(channel=Channel.SMS, sms_body=SHORT)
    (problem,) = launch_problems(step.campaign)
    assert problem.endswith(
        "goes by Text message (SMS) but SMS is not configured (set TWILIO_ACCOUNT_SID, "
        "TWILIO_AUTH_TOKEN and TWILIO_FROM)"
    )


@override_settings(**TWILIO)
def test_a_text_message_step_to_the_manager_needs_the_managers_text() -> None:
    step = StepFactory.create(
        channel=Channel.SMS, sms_body=SHORT, audience=Audience.BOTH,
        manager_subject="{{ first_name }} paused", manager_body="Could you check in?",
    )  # fmt: skip
    (problem,) = launch_problems(step.campaign)
    assert problem.endswith("an SMS step to the manager needs its text message to the manager")
    step.manager_sms_body = "Hi {{ manager_first_name }}, {{ first_name }} paused: send a note"
    step.save()
    services.launch_campaign(campaign=step.campaign, now=NOW)  # nothing left to refuse
    step.campaign.status = "draft"
    step.campaign.save()
    step.manager_sms_body = "{{ first_name }} stopped at {{ last_module }}"
    step.save()
    (problem,) = launch_problems(step.campaign)
    assert problem.endswith(
        "a text message may use only {{ first_name }} and {{ manager_first_name }}, no other "
        "personal data (found: last_module)"
    )


@override_settings(**TWILIO)
def test_a_text_message_that_can_exceed_two_segments_is_refused() -> None:
    step = StepFactory.create(channel=Channel.SMS, sms_body="Hello {{ first_name }}! " * 12)
    (problem,) = launch_problems(step.campaign)
    assert "SMS segments with a long first name" in problem and "at most 2" in problem
    form = StepForm(
        data={
            "campaign": step.campaign.pk,
            "position": 2,
            "delay_days": 0,
            "delay_hours": 0,
            "audience": "learner",
            "channel": "sms",
            "sms_body": "Hello {{ first_name }}! " * 12,
            "subject": "Hi",
            "body": "Hi",
            "cta_label": "Go",
            "cta_target": "resume",
        }
    )
    assert not form.is_valid()
    assert "at most 2 are allowed" in form.errors["sms_body"][0]


@override_settings(**TWILIO)
def test_a_text_message_carries_no_other_personal_data() -> None:
    step = StepFactory.create(
        channel=Channel.SMS, sms_body="{{ first_name }} {{ last_name }}, {{ course_title }}"
    )
    (problem,) = launch_problems(step.campaign)
    assert problem.endswith(
        "a text message may use only {{ first_name }}, no other personal data "
        "(found: course_title, last_name)"
    )


def test_segments_follow_the_gsm_and_ucs2_limits() -> None:
    assert sms.segments("a" * 160) == 1
    assert sms.segments("a" * 161) == 2
    assert sms.segments("a" * 306) == 2
    assert sms.segments("a" * 307) == 3
    # The extension table's characters count twice.
    assert sms.segments("€" * 80) == 1 and sms.segments("€" * 81) == 2
    # One emoji makes it UCS-2: 70 units in one segment, 67 each when split (an emoji is 2).
    assert sms.segments("a" * 68 + "🙂") == 1
    assert sms.segments("a" * 69 + "🙂") == 2


def test_a_name_outside_the_gsm_alphabet_that_would_need_a_third_segment_is_left_out() -> None:
    source = "Hi {{ first_name }}! " + "Your course is waiting for you, pick it up. " * 3
    assert sms.sms_problem(source) is None
    text = sms.render_sms(source=source, first_name="Zoë 🙂", send_id=7)
    assert text.startswith("Hi there! ") and sms.segments(text) <= 2
    latin = sms.render_sms(source=source, first_name="Zoé", send_id=7)
    assert latin.startswith("Hi Zoé! ") and latin.endswith("\nReply STOP to opt out.")


def test_the_campaign_pages_step_row_names_a_missing_text_message_on_the_channel() -> None:
    from django.forms import modelform_factory

    from campaigns.admin.campaigns import StepInline, StepInlineForm

    # The form the campaign page's step rows use: only the row's columns.
    columns = [str(name) for name in StepInline.fields or []]
    row_form = modelform_factory(Step, form=StepInlineForm, fields=["campaign", *columns])
    step = StepFactory.create()
    data = {
        "campaign": step.campaign.pk,
        "position": 2,
        "delay_days": 1,
        "delay_hours": 0,
        "audience": "learner",
        "channel": "sms",
        "subject": "Hi",
        "body": "Hi",
        "cta_label": "Go",
        "cta_target": "resume",
    }
    form = row_form(data=data)
    assert "sms_body" not in form.fields
    assert not form.is_valid()
    assert form.errors["channel"] == ["An SMS step needs its text message."]
    slack_to_learner = row_form(data={**data, "channel": "slack"})
    assert not slack_to_learner.is_valid()
    assert slack_to_learner.errors["channel"] == [
        "Slack direct message (managers) cannot reach the learner."
    ]
