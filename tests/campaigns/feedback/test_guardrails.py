"""Guardrails: a campaign pauses itself when its complaint or hard bounce rate over the recent
mail goes past the bulk-sender thresholds, says why, and tells the approvers."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import override_settings

from campaigns.feedback import guardrails
from campaigns.models import Campaign, DeliverabilityAlert, Enrollment, EspEvent, Send
from tests.factories import NOW, LearnerFactory, staff_user

pytestmark = pytest.mark.django_db


def sent_mail(campaign: Campaign, count: int, *, complained: int = 0, hard: int = 0) -> None:
    """``count`` sends out in the last days, ``complained`` with a complaint and ``hard``
    with a hard bounce event."""
    learners = LearnerFactory.create_batch(count)
    enrollments = Enrollment.objects.bulk_create(
        Enrollment(campaign=campaign, learner=learner, enrolled_at=NOW - dt.timedelta(days=3))
        for learner in learners
    )
    at = NOW - dt.timedelta(days=2)
    sends = Send.objects.bulk_create(
        Send(
            enrollment=enrollment,
            campaign=campaign,
            learner=enrollment.learner,
            audience="learner",
            to_email=enrollment.learner.email,
            status=Send.Status.SENT,
            due_at=at,
            created_at=at,
            sent_at=at,
            complained_at=at if index < complained else None,
        )
        for index, enrollment in enumerate(enrollments)
    )
    EspEvent.objects.bulk_create(
        EspEvent(
            esp="Postmark",
            key=f"hard-{send.pk}",
            event_type="bounced",
            recipient=send.to_email,
            occurred_at=at,
            received_at=at,
            send=send,
            campaign=campaign,
            classification="recipient",
            applied_at=at,
        )
        for send in sends[-hard:]
        if hard
    )


@pytest.fixture
def campaign() -> Campaign:
    from tests.factories import CampaignFactory

    return CampaignFactory.create(status=Campaign.Status.ACTIVE)


@override_settings(GUARDRAIL_MIN_VOLUME=500)
def test_complaints_past_the_pause_threshold_pause_the_campaign(
    campaign: Campaign, mailoutbox: list[Any], django_capture_on_commit_callbacks: Any
) -> None:
    approver = staff_user("alice", "Campaign approvers")
    sent_mail(campaign, 1000, complained=3)
    with django_capture_on_commit_callbacks(execute=True):
        assert guardrails.check_campaign(campaign=campaign, now=NOW) == "paused"
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.PAUSED
    alert = DeliverabilityAlert.objects.get()
    assert alert.level == "paused"
    assert alert.message == (
        "Complaint rate 0.30% (3 of 1000 emails sent in the last 7 days) is at or above 0.30%."
    )
    (email,) = mailoutbox
    assert email.to == [approver.email] and alert.message in email.body
    assert f"/admin/campaigns/campaign/{campaign.pk}/change/" in email.body


@override_settings(GUARDRAIL_MIN_VOLUME=500)
def test_complaints_past_the_warning_threshold_warn_once_a_day(campaign: Campaign) -> None:
    sent_mail(campaign, 1000, complained=1)
    assert guardrails.check_campaign(campaign=campaign, now=NOW) == "warned"
    assert guardrails.check_campaign(campaign=campaign, now=NOW) == ""
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.ACTIVE
    assert DeliverabilityAlert.objects.get().level == "warning"


@override_settings(GUARDRAIL_MIN_VOLUME=500)
def test_hard_bounces_past_five_percent_pause_the_campaign(campaign: Campaign) -> None:
    sent_mail(campaign, 600, hard=30)
    assert guardrails.check_campaign(campaign=campaign, now=NOW) == "paused"
    assert "Hard bounce rate 5.00% (30 of 600" in DeliverabilityAlert.objects.get().message


@override_settings(GUARDRAIL_MIN_VOLUME=500)
def test_below_the_minimum_volume_nothing_is_judged(campaign: Campaign) -> None:
    sent_mail(campaign, 200, complained=5, hard=50)
    assert guardrails.check_campaign(campaign=campaign, now=NOW) == ""
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.ACTIVE


@override_settings(GUARDRAIL_MIN_VOLUME=500)
def test_old_mail_does_not_count(campaign: Campaign) -> None:
    sent_mail(campaign, 1000, complained=10)
    assert guardrails.check_campaign(campaign=campaign, now=NOW + dt.timedelta(days=30)) == ""


@override_settings(GUARDRAIL_MIN_VOLUME=500, GUARDRAIL_CHECK_SECONDS=3600)
def test_a_recount_put_off_by_the_throttle_is_done_by_the_next_pass(campaign: Campaign) -> None:
    from anymail.signals import AnymailTrackingEvent, tracking
    from django.core.cache import cache

    from campaigns.feedback import apply

    cache.clear()
    sent_mail(campaign, 1000)
    sends = list(Send.objects.order_by("pk")[:4])
    for index, send in enumerate(sends):
        event = AnymailTrackingEvent(
            event_type="complained",
            event_id=f"c{index}",
            recipient=send.to_email,
            timestamp=NOW - dt.timedelta(days=1),
            metadata={"send_id": send.pk},
        )
        tracking.send(sender=object, event=event, esp_name="Postmark")
        ids = list(EspEvent.objects.filter(applied_at__isnull=True).values_list("pk", flat=True))
        # One worker applies each complaint; the first recount finds 1 in 1000: fine.
        apply.apply_events(event_ids=ids, now=NOW)
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.ACTIVE
    assert apply.apply_pending(now=NOW).paused == 1
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.PAUSED
