"""Which channel each send goes by: the step's where the recipient has an address there, email
otherwise, decided in the pass's own statements; quiet hours and the weekly cap for every
channel."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext

from campaigns.engine.run import run_pass
from campaigns.models import Audience, Channel, Send, Step
from learners.models import Learner, TeamChannel
from tests.campaigns.conftest import day, one_step
from tests.campaigns.engine.helpers import learners
from tests.factories import ManagerFactory

pytestmark = pytest.mark.django_db


def sends_by_learner() -> dict[int, Send]:
    return {send.learner_id: send for send in Send.objects.all()}


def test_sms_goes_to_learners_with_a_number_and_consent_and_email_to_the_others() -> None:
    one_step(Channel.SMS)
    consenting = learners(1, phone="+4915112345678", sms_consent_at=day(-30))[0]
    no_consent = learners(1, phone="+4915112345679")[0]
    opted_out = learners(
        1, phone="+4915112345670", sms_consent_at=day(-30), sms_opted_out_at=day(-1)
    )[0]
    no_number = learners(1, sms_consent_at=day(-30))[0]
    run_pass(now=day(0))
    sends = sends_by_learner()
    assert (sends[consenting.pk].channel, sends[consenting.pk].to_address) == (
        "sms",
        "+4915112345678",
    )
    for learner in (no_consent, opted_out, no_number):
        send = sends[learner.pk]
        assert (send.channel, send.to_address, send.to_email) == ("email", "", learner.email)
    assert {s.status for s in sends.values()} == {"queued"}


def test_slack_goes_to_managers_slack_has_not_disowned_and_email_to_the_others() -> None:
    one_step(Channel.SLACK, Audience.MANAGER)
    known = learners(1, manager=ManagerFactory.create(slack_user_id="U012AB3CD"))[0]
    unknown_yet = learners(1)[0]
    not_on_slack = learners(1, manager=ManagerFactory.create(slack_not_found_at=day(-3)))[0]
    run_pass(now=day(0))
    sends = sends_by_learner()
    assert (sends[known.pk].channel, sends[known.pk].to_address) == ("slack", "U012AB3CD")
    # Looked up at delivery (users.lookupByEmail), then kept on the manager.
    assert (sends[unknown_yet.pk].channel, sends[unknown_yet.pk].to_address) == ("slack", "")
    assert sends[not_on_slack.pk].channel == "email"
    assert not_on_slack.manager is not None
    assert sends[not_on_slack.pk].to_email == not_on_slack.manager.email


def test_teams_goes_to_teams_with_a_channel_and_email_to_the_others() -> None:
    TeamChannel.objects.create(team="EMEA", webhook_url="https://example.webhook.office.com/x")
    one_step(Channel.TEAMS, Audience.MANAGER)
    emea = learners(1, team="EMEA")[0]
    apac = learners(1, team="APAC")[0]
    run_pass(now=day(0))
    sends = sends_by_learner()
    assert (sends[emea.pk].channel, sends[emea.pk].to_address) == ("teams", "EMEA")
    assert (sends[apac.pk].channel, sends[apac.pk].to_address) == ("email", "")


def test_the_choice_is_one_statement_whatever_the_number_of_learners() -> None:
    one_step(Channel.SMS)
    learners(2, phone="+4915112345678", sms_consent_at=day(-30))
    with CaptureQueriesContext(connection) as few:
        run_pass(now=day(0))
    Send.objects.all().delete()
    from campaigns.models import Enrollment

    Enrollment.objects.all().delete()
    learners(12, sms_consent_at=day(-30))
    with CaptureQueriesContext(connection) as many:
        run_pass(now=day(0))
    assert Send.objects.count() == 14
    assert len(few) == len(many)


def test_one_row_per_enrollment_step_audience_and_channel() -> None:
    one_step(Channel.SMS)
    learners(1, phone="+4915112345678", sms_consent_at=day(-30))
    run_pass(now=day(0))
    run_pass(now=day(0))
    send = Send.objects.get()
    fields = {
        name: getattr(send, name)
        for name in ("enrollment_id", "campaign_id", "step_id", "learner_id", "due_at")
    }
    with pytest.raises(IntegrityError), transaction.atomic():
        Send.objects.create(
            **fields, kind="step", audience="learner", channel="sms", created_at=day(0)
        )
    # The same step by another channel is another row.
    Send.objects.create(
        **fields, kind="step", audience="learner", channel="email", created_at=day(0)
    )


def test_quiet_hours_hold_a_text_message_too() -> None:
    one_step(Channel.SMS)
    learner = learners(
        1, phone="+14155552671", sms_consent_at=day(-30), time_zone="America/Los_Angeles"
    )[0]
    # 09:00 UTC is 01:00 in Los Angeles.
    run_pass(now=day(0))
    send = Send.objects.get(learner=learner)
    assert (send.channel, send.status, send.postponed_reason) == ("sms", "scheduled", "quiet hours")
    assert send.due_at == dt.datetime(2026, 12, 1, 16, 0, tzinfo=dt.UTC)


def test_text_messages_count_in_the_weekly_cap() -> None:
    step = one_step(Channel.SMS, weekly_cap=2)
    learner = learners(1, phone="+4915112345678", sms_consent_at=day(-30))[0]
    other = one_step(Channel.SMS)
    earlier = learners(1)[0]
    run_pass(now=day(0))
    enrollment = Send.objects.get(learner=earlier).enrollment
    for hours in (1, 2):
        Send.objects.create(
            enrollment=enrollment,
            campaign=other.campaign,
            step=None,
            kind="welcome_back" if hours == 1 else "handoff",
            audience="learner",
            learner=learner,
            channel="sms",
            status="sent",
            due_at=day(-1),
            sent_at=day(0) - dt.timedelta(hours=hours),
            created_at=day(-1),
        )
    Send.objects.filter(learner=learner, step=step).delete()
    from campaigns.models import Enrollment

    Enrollment.objects.filter(learner=learner).delete()
    run_pass(now=day(0))
    send = Send.objects.get(learner=learner, step=step)
    assert (send.channel, send.status, send.postponed_reason) == ("sms", "scheduled", "weekly cap")


def test_a_bounced_email_address_does_not_stop_a_text_message() -> None:
    Step.objects.filter(pk=one_step(Channel.SMS).pk).update(delay_days=1)
    texted = learners(1, phone="+4915112345678", sms_consent_at=day(-30))[0]
    mailed = learners(1)[0]
    run_pass(now=day(0))
    # Both addresses bounce after they were enrolled.
    Learner.objects.update(suppressed_at=day(0), suppression_reason="bounce")
    run_pass(now=day(1))
    sends = sends_by_learner()
    assert (sends[texted.pk].channel, sends[texted.pk].status) == ("sms", "queued")
    assert (sends[mailed.pk].status, sends[mailed.pk].skip_reason) == (
        "skipped",
        "address suppressed",
    )
