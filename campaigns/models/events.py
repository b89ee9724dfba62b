"""What comes back from the ESP and the inbox: tracking events as they came, the addresses that
must not be mailed again, deliverability alerts, and clicks on the tracked redirect."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from .building import Campaign
from .outbox import Send


class BounceClass(models.TextChoices):
    """What a bounce or complaint says about whose problem it is (see feedback.bounces)."""

    RECIPIENT = "recipient", "Recipient problem (hard bounce)"
    SOFT = "soft", "Temporary problem (soft bounce)"
    SENDER = "sender", "Sender problem (authentication, policy, reputation)"
    COMPLAINT = "complaint", "Spam complaint"


class EspEvent(models.Model):
    """One tracking event from an ESP, stored as it came before anything is done with it.

    Unique per (ESP, key): the ESP's own event id where it gives one, else a stable hash of the
    payload, so a replayed webhook stores nothing new. ``applied_at`` is set once the event has
    changed the send, the learner and the campaign it concerns.
    """

    esp = models.CharField("ESP", max_length=40)
    key = models.CharField(max_length=255)
    event_type = models.CharField(max_length=20)
    recipient = models.CharField(max_length=254, blank=True)
    # The ESP's message id (anymail's ``message_id``).
    message_id = models.CharField(max_length=300, blank=True)
    # Our send id, from the message's metadata when the ESP echoes it back.
    metadata_send_id = models.BigIntegerField(null=True, blank=True)
    # A weekly digest's id, from its metadata: its delivery confirms a digest left unconfirmed.
    metadata_digest_id = models.BigIntegerField(null=True, blank=True)
    occurred_at = models.DateTimeField()
    received_at = models.DateTimeField()
    reject_reason = models.CharField(max_length=20, blank=True)
    description = models.TextField(blank=True)
    mta_response = models.TextField(blank=True)
    user_agent = models.CharField(max_length=500, blank=True)
    click_url = models.CharField(max_length=2000, blank=True)
    # A machine open (image proxy, privacy pre-fetch) or an automated click, flagged by the
    # ESP or by us: recorded, left out of engagement.
    is_machine = models.BooleanField(default=False)
    raw = models.JSONField(default=dict)
    # Written when applied.
    send = models.ForeignKey(
        Send,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="esp_events",
        db_index=False,
        db_constraint=False,
    )
    campaign = models.ForeignKey(
        Campaign,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="esp_events",
        db_index=False,
        db_constraint=False,
    )
    classification = models.CharField(max_length=12, choices=BounceClass.choices, blank=True)
    status_code = models.CharField("SMTP status", max_length=12, blank=True)
    applied_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=300, blank=True)
    failed_attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)

    class Meta:
        verbose_name = "ESP event"
        ordering = ["-occurred_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["esp", "key"], name="esp_event_unique"),
        ]
        indexes = [
            # The pass picks up what was stored and not applied: small, whatever the table size.
            models.Index(
                fields=["id"], name="esp_event_unapplied_idx", condition=Q(applied_at__isnull=True)
            ),
            models.Index(fields=["recipient", "occurred_at"], name="esp_event_recipient_idx"),
            models.Index(
                fields=["send"], name="esp_event_send_idx", condition=Q(send__isnull=False)
            ),
            models.Index(
                fields=["campaign", "classification", "occurred_at"],
                name="esp_event_campaign_idx",
                condition=~Q(classification=""),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.esp} {self.event_type} {self.recipient}"


class SuppressedAddress(models.Model):
    """An address that must not be mailed, whoever has it now: it outlives the learner or
    manager row (deleted and created again, re-imported). Lifting keeps the row and the reason."""

    class Reason(models.TextChoices):
        BOUNCE = "bounce", "Hard bounce"
        SOFT_BOUNCES = "soft_bounces", "Repeated soft bounces"
        COMPLAINT = "complaint", "Spam complaint"

    address = models.CharField(max_length=254)
    reason = models.CharField(max_length=20, choices=Reason.choices)
    detail = models.TextField(blank=True)
    status_code = models.CharField("SMTP status", max_length=12, blank=True)
    event = models.ForeignKey(
        EspEvent, null=True, blank=True, on_delete=models.SET_NULL, related_name="suppressions"
    )
    suppressed_at = models.DateTimeField()
    # Whether suppressing stopped a manager's nudges (so lifting it starts them again).
    stopped_manager_nudges = models.BooleanField(default=False)
    lifted_at = models.DateTimeField(null=True, blank=True)
    lifted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    lift_reason = models.TextField(blank=True)

    class Meta:
        verbose_name_plural = "suppressed addresses"
        ordering = ["-suppressed_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["address"],
                condition=Q(lifted_at__isnull=True),
                name="suppressed_address_active_unique",
            ),
        ]
        indexes = [models.Index(fields=["address", "-lifted_at"], name="suppressed_address_idx")]

    def __str__(self) -> str:
        return f"{self.address} ({self.get_reason_display()})"


class DeliverabilityAlert(models.Model):
    """Something staff must look at: a sender-side block, or a campaign's bad rates."""

    class Kind(models.TextChoices):
        SENDER_PROBLEM = "sender_problem", "Sender problem (authentication, policy, reputation)"
        COMPLAINT_RATE = "complaint_rate", "Complaint rate"
        BOUNCE_RATE = "bounce_rate", "Hard bounce rate"

    class Level(models.TextChoices):
        WARNING = "warning", "Warning"
        PAUSED = "paused", "Campaign paused"

    campaign = models.ForeignKey(
        Campaign, null=True, blank=True, on_delete=models.CASCADE, related_name="alerts"
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    level = models.CharField(max_length=10, choices=Level.choices, default=Level.WARNING)
    message = models.TextField()
    event = models.OneToOneField(
        EspEvent, null=True, blank=True, on_delete=models.SET_NULL, related_name="alert"
    )
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["campaign", "kind", "-created_at"], name="alert_idx")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.message[:60]}"


class Click(models.Model):
    """One request to a send's tracked link. Automated ones (scanners, pre-fetch) are kept but
    flagged and not counted as engagement."""

    send = models.ForeignKey(Send, on_delete=models.CASCADE, related_name="clicks")
    at = models.DateTimeField()
    method = models.CharField(max_length=8)
    user_agent = models.CharField(max_length=500, blank=True)
    is_automated = models.BooleanField(default=False)
    automated_reason = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-at"]

    def __str__(self) -> str:
        return f"click on {self.send_id} at {self.at:%Y-%m-%d %H:%M:%S}"
