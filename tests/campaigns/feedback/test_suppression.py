"""What bounces and complaints do to people: a recipient's problem suppresses at once, soft
bounces after repeats, complaints suppress and end enrollments, a sender's problem suppresses
nobody. Suppression is by address: managers too, through re-imports and re-creation, until
staff lift it with a reason."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import tablib
from anymail.signals import AnymailTrackingEvent, tracking
from django.core.exceptions import ValidationError
from django.test import override_settings

from campaigns.feedback import apply, suppression
from campaigns.models import (
    Campaign,
    DeliverabilityAlert,
    Enrollment,
    EspEvent,
    Send,
    SuppressedAddress,
)
from learners.imports.files import import_dataset
from learners.models import Learner, Manager
from tests.campaigns.feedback.conftest import make_send
from tests.factories import NOW, LearnerFactory, ManagerFactory, staff_user

pytestmark = pytest.mark.usefixtures("webhooks")

GMAIL_NO_SUCH_USER = "550 5.1.1 The email account that you tried to reach does not exist."
GMAIL_FULL = "452 4.2.2 The email account that you tried to reach is over quota."
GMAIL_UNAUTHENTICATED = (
    "550 5.7.26 This mail has been blocked because the sender is unauthenticated."
)


def bounce(
    to: str, text: str, *, at: dt.datetime = NOW, key: str = "", send: Send | None = None
) -> None:
    """A bounce as anymail signals it; the ESP calls every bounce "hard" here."""
    event = AnymailTrackingEvent(
        event_type="bounced",
        event_id=key or f"{to}-{at.isoformat()}-{text[:8]}",
        recipient=to,
        timestamp=at,
        mta_response=text,
        metadata={"send_id": send.pk} if send else {},
        esp_event={"Type": "HardBounce"},
    )
    tracking.send(sender=object, event=event, esp_name="Postmark")


def complaint(to: str, *, at: dt.datetime = NOW, send: Send | None = None) -> None:
    event = AnymailTrackingEvent(
        event_type="complained",
        event_id=f"c-{to}-{at.isoformat()}",
        recipient=to,
        timestamp=at,
        metadata={"send_id": send.pk} if send else {},
    )
    tracking.send(sender=object, event=event, esp_name="Postmark")


@pytest.fixture
def ada(campaign: Campaign) -> Learner:
    return LearnerFactory.create(email="ada@example.com")


def test_a_recipient_problem_suppresses_at_once_and_skips_pending_mail(
    campaign: Campaign, ada: Learner
) -> None:
    sent = make_send(learner=ada, campaign=campaign, esp_message_id="m1")
    pending = make_send(learner=ada, campaign=campaign, status=Send.Status.SCHEDULED)
    Send.objects.filter(pk=pending.pk).update(step=None, kind=Send.Kind.HANDOFF)
    bounce("ada@example.com", GMAIL_NO_SUCH_USER, send=sent)
    apply.apply_pending(now=NOW)
    ada.refresh_from_db()
    assert (ada.suppressed_at, ada.suppression_reason) == (NOW, "bounce")
    row = SuppressedAddress.objects.get()
    assert (row.address, row.reason, row.status_code) == ("ada@example.com", "bounce", "5.1.1")
    assert "does not exist" in row.detail
    pending.refresh_from_db()
    assert (pending.status, pending.skip_reason) == ("skipped", "address suppressed")


def test_soft_bounces_suppress_only_past_the_limit_within_the_window(ada: Learner) -> None:
    with override_settings(SOFT_BOUNCE_LIMIT=3, SOFT_BOUNCE_WINDOW_DAYS=14):
        bounce("ada@example.com", GMAIL_FULL, at=NOW)
        bounce("ada@example.com", GMAIL_FULL, at=NOW + dt.timedelta(days=10))
        bounce("ada@example.com", GMAIL_FULL, at=NOW + dt.timedelta(days=30))
        apply.apply_pending(now=NOW)
        ada.refresh_from_db()
        assert ada.suppressed_at is None  # three, but never three within 14 days
        # Arriving late and out of order, the third within a fortnight of two others.
        bounce("ada@example.com", GMAIL_FULL, at=NOW + dt.timedelta(days=5))
        apply.apply_pending(now=NOW)
    ada.refresh_from_db()
    assert ada.suppressed_at == NOW + dt.timedelta(days=10)
    assert SuppressedAddress.objects.get().reason == "soft_bounces"


def test_a_complaint_suppresses_and_ends_every_enrollment(campaign: Campaign, ada: Learner) -> None:
    other = Campaign.objects.create(
        name="Other", slug="other", segment=campaign.segment, status="active"
    )
    send = make_send(learner=ada, campaign=campaign, esp_message_id="m1")
    Enrollment.objects.create(
        campaign=other, learner=ada, enrolled_at=NOW, status=Enrollment.Status.REACTIVATED
    )
    complaint("ada@example.com", send=send)
    apply.apply_pending(now=NOW)
    ada.refresh_from_db()
    assert ada.suppression_reason == "complaint"
    enrollment = Enrollment.objects.get(campaign=campaign)
    assert (enrollment.status, enrollment.exit_reason) == ("exited", "complained")
    send.refresh_from_db()
    assert send.complained_at == NOW


def test_a_sender_problem_never_suppresses_and_raises_an_alert(
    campaign: Campaign, ada: Learner
) -> None:
    send = make_send(learner=ada, campaign=campaign)
    bounce("ada@example.com", GMAIL_UNAUTHENTICATED, send=send)
    apply.apply_pending(now=NOW)
    ada.refresh_from_db()
    assert ada.suppressed_at is None and not SuppressedAddress.objects.exists()
    alert = DeliverabilityAlert.objects.get()
    assert (alert.kind, alert.campaign) == ("sender_problem", campaign)
    assert "5.7.26" in alert.message and "Nobody was suppressed" in alert.message
    campaign.refresh_from_db()
    assert campaign.status == "active"


def test_repeated_sender_problems_pause_the_campaign_and_tell_the_approvers(
    campaign: Campaign, mailoutbox: list[Any], django_capture_on_commit_callbacks: Any
) -> None:
    approver = staff_user("alice", "Campaign approvers")
    staff_user("victor", "Viewers")
    learners = LearnerFactory.create_batch(3)
    for index, learner in enumerate(learners):
        send = make_send(learner=learner, campaign=campaign)
        bounce(learner.email, GMAIL_UNAUTHENTICATED, send=send, at=NOW + dt.timedelta(hours=index))
    with (
        override_settings(SENDER_PROBLEM_PAUSE_AFTER=3),
        django_capture_on_commit_callbacks(execute=True),
    ):
        result = apply.apply_pending(now=NOW + dt.timedelta(hours=3))
    assert (result.alerts, result.paused) == (3, 1)
    campaign.refresh_from_db()
    assert campaign.status == "paused"
    assert not Learner.objects.filter(suppressed_at__isnull=False).exists()
    paused = DeliverabilityAlert.objects.get(level="paused")
    assert "3 sender-side refusals" in paused.message
    (email,) = mailoutbox
    assert email.to == [approver.email]
    assert (
        email.subject
        == f"Paused: {campaign.name} — Sender problem (authentication, policy, reputation)"
    )
    assert paused.message in email.body


def test_a_managers_bounce_stops_nudges_to_that_manager(campaign: Campaign) -> None:
    manager = ManagerFactory.create(email="boss@example.com")
    learner = LearnerFactory.create(manager=manager)
    nudge = make_send(learner=learner, campaign=campaign, audience="manager")
    pending = make_send(
        learner=learner, campaign=campaign, audience="manager", status=Send.Status.QUEUED
    )
    Send.objects.filter(pk=pending.pk).update(step=None, kind=Send.Kind.HANDOFF)
    bounce("boss@example.com", GMAIL_NO_SUCH_USER, send=nudge)
    apply.apply_pending(now=NOW)
    manager.refresh_from_db()
    learner.refresh_from_db()
    assert manager.nudges_opted_out_at == NOW
    assert learner.suppressed_at is None  # the report is still mailed
    pending.refresh_from_db()
    assert (pending.status, pending.skip_reason) == ("skipped", "manager address suppressed")
    row = SuppressedAddress.objects.get()
    assert row.stopped_manager_nudges
    suppression.lift_suppression(suppression=row, reason="Mailbox restored", user=None, now=NOW)
    manager.refresh_from_db()
    assert manager.nudges_opted_out_at is None


def test_a_suppressed_address_stays_so_through_delete_and_recreate_and_reimport(
    ada: Learner,
) -> None:
    bounce("ada@example.com", GMAIL_NO_SUCH_USER)
    apply.apply_pending(now=NOW)
    ada.delete()
    again = LearnerFactory.create(email="Ada@Example.com", external_id="L-NEW")
    assert Learner.objects.get(pk=again.pk).suppressed_at is None
    apply.apply_pending(now=NOW + dt.timedelta(days=1))  # what every pass runs first
    again.refresh_from_db()
    assert (again.suppressed_at, again.suppression_reason) == (NOW, "bounce")
    dataset = tablib.Dataset(headers=["external_id", "email", "suppressed_at"])
    dataset.append(["L-NEW", "ada@example.com", ""])
    import_dataset(kind="learners", dataset=dataset, now=NOW, dry_run=False)
    again.refresh_from_db()
    assert again.suppressed_at == NOW


def test_staff_lift_a_suppression_with_a_reason_that_is_kept(ada: Learner) -> None:
    bounce("ada@example.com", GMAIL_NO_SUCH_USER, key="b1")
    apply.apply_pending(now=NOW)
    row = SuppressedAddress.objects.get()
    staff = staff_user("alice", "Campaign approvers")
    with pytest.raises(ValidationError, match="Say why"):
        suppression.lift_suppression(suppression=row, reason="  ", user=staff, now=NOW)
    later = NOW + dt.timedelta(days=2)
    suppression.lift_suppression(
        suppression=row, reason="She fixed her mailbox", user=staff, now=later
    )
    ada.refresh_from_db()
    assert ada.suppressed_at is None and ada.suppression_reason == ""
    row.refresh_from_db()
    assert (row.lifted_at, row.lifted_by, row.lift_reason) == (
        later,
        staff,
        "She fixed her mailbox",
    )
    # A replay of the old bounce does not undo the decision; a new bounce suppresses again.
    EspEvent.objects.all().delete()
    bounce("ada@example.com", GMAIL_NO_SUCH_USER, key="b1")
    apply.apply_pending(now=later)
    ada.refresh_from_db()
    assert ada.suppressed_at is None
    bounce("ada@example.com", GMAIL_NO_SUCH_USER, key="b2", at=later + dt.timedelta(days=1))
    apply.apply_pending(now=later)
    ada.refresh_from_db()
    assert ada.suppressed_at == later + dt.timedelta(days=1)
    assert SuppressedAddress.objects.count() == 2


def test_an_unsubscribe_event_unsubscribes_the_learner(campaign: Campaign, ada: Learner) -> None:
    send = make_send(learner=ada, campaign=campaign)
    event = AnymailTrackingEvent(
        event_type="unsubscribed",
        event_id="u1",
        recipient=ada.email,
        timestamp=NOW,
        metadata={"send_id": send.pk},
    )
    tracking.send(sender=object, event=event, esp_name="Mailgun")
    apply.apply_pending(now=NOW)
    ada.refresh_from_db()
    send.refresh_from_db()
    assert ada.unsubscribed_at == NOW and send.unsubscribed_at == NOW
    assert Manager.objects.filter(nudges_opted_out_at__isnull=False).count() == 0
