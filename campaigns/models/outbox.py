"""The outbox: a learner's way through a campaign (Enrollment) and one row per message (Send),
plus the row the pass locks."""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from learners.models import Course, Learner, Manager

from .building import Audience, Campaign, Channel, Step, Variant


class Enrollment(models.Model):
    """A learner's way through one campaign. Drip timing lives here (``next_due_at``)."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        REACTIVATED = "reactivated", "Came back"
        SUNSET = "sunset", "Sunset"
        EXITED = "exited", "Exited"

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="enrollments")
    learner = models.ForeignKey(Learner, on_delete=models.CASCADE, related_name="enrollments")
    # The course the emails talk about: the learner's most recent unfinished one when enrolled.
    course = models.ForeignKey(Course, null=True, blank=True, on_delete=models.SET_NULL)
    enrolled_at = models.DateTimeField()
    is_holdout = models.BooleanField(default=False)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.ACTIVE)
    # Position of the next step to create a send for; null once every step has a send.
    next_step = models.PositiveSmallIntegerField(null=True, blank=True)
    next_due_at = models.DateTimeField(null=True, blank=True)
    reactivated_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    exit_reason = models.CharField(max_length=200, blank=True)
    # The activity part of the enrollment's outcome as the results define it
    # (campaigns.reports.outcomes): the first and last counted activity in the goal window and
    # the first module completed in it. Recorded after each pass by campaigns.engine.outcomes,
    # and meaningful only for an enrollment its campaign's recording covers
    # (``Campaign.outcomes_enrollment_id``); empty (NULL) is "none", so a new enrollment
    # without activity is written only when it has some.
    outcome_first_at = models.DateTimeField(null=True, blank=True)
    outcome_last_at = models.DateTimeField(null=True, blank=True)
    outcome_done_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-enrolled_at"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "learner"], name="enrollment_unique"),
            # A learner is in at most one re-engagement campaign at a time.
            models.UniqueConstraint(
                fields=["learner"], condition=Q(status="active"), name="enrollment_one_active"
            ),
        ]
        indexes = [
            models.Index(
                fields=["campaign", "next_due_at"],
                name="enrollment_due_idx",
                condition=Q(status="active"),
            ),
            # The oldest active enrollment of a campaign, in one index probe: who came back
            # since is looked for among learners active after it only.
            models.Index(
                fields=["campaign", "enrolled_at"],
                name="enrollment_active_since_idx",
                condition=Q(status="active"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.learner_id} in {self.campaign_id} ({self.status})"


# Why a send was skipped for a choice of the recipient's own (preference centre): the same
# words whether the pass, delivery or the page itself skipped it.
PAUSED_REASON = "reminders paused by the learner"
EMAIL_OFF_REASON = "email turned off by the learner"
MANAGER_PAUSED_REASON = "manager paused messages"


class Send(models.Model):
    """One message to one person: the outbox. Unique per (enrollment, step, audience,
    channel)."""

    class Kind(models.TextChoices):
        STEP = "step", "Campaign step"
        WELCOME_BACK = "welcome_back", "Welcome back"
        HANDOFF = "handoff", "Manager hand-off"

    class Status(models.TextChoices):
        SCHEDULED = "scheduled", "Scheduled"
        QUEUED = "queued", "Queued"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"
        SKIPPED = "skipped", "Skipped"
        # The ESP may or may not have accepted it (the worker died mid-call); never resent blindly.
        UNCONFIRMED = "unconfirmed", "Unconfirmed"

    # Not yet handed to the ESP: what an unsubscribe, a return or an archive still stops.
    PENDING = (Status.SCHEDULED, Status.QUEUED)

    enrollment = models.ForeignKey(Enrollment, on_delete=models.CASCADE, related_name="sends")
    # Campaign and learner are copies of the enrollment's, written by the engine from that row,
    # whose own foreign keys guard them. A database check of each again, at the commit of a
    # launch that creates 180,000 sends, cost 1.7 s of a 15 s pass and could catch nothing.
    # No index of its own either: send_report_idx starts with it. Every index costs time on
    # each of the hundreds of thousands of sends one pass can create.
    campaign = models.ForeignKey(
        Campaign,
        on_delete=models.CASCADE,
        related_name="sends",
        db_index=False,
        db_constraint=False,
    )
    step = models.ForeignKey(
        Step, null=True, blank=True, on_delete=models.PROTECT, related_name="sends"
    )
    variant = models.ForeignKey(
        Variant, null=True, blank=True, on_delete=models.PROTECT, related_name="sends"
    )
    kind = models.CharField(max_length=15, choices=Kind.choices, default=Kind.STEP)
    audience = models.CharField(
        max_length=10, choices=[c for c in Audience.choices if c[0] != "both"]
    )
    # No index of its own: send_learner_recent_idx starts with it.
    learner = models.ForeignKey(
        Learner,
        on_delete=models.CASCADE,
        related_name="sends",
        db_index=False,
        db_constraint=False,
    )
    # Set on manager emails only: indexed only where set (send_manager_idx).
    manager = models.ForeignKey(
        Manager,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="sends",
        db_index=False,
    )
    # Decided when the send is created: the step's channel where the recipient has an address
    # there, else email.
    channel = models.CharField(
        max_length=8, choices=Channel.choices, default=Channel.EMAIL, db_default=Channel.EMAIL
    )
    to_email = models.EmailField(blank=True)
    # Where a message on another channel goes: the number in E.164 (SMS), the team (Teams),
    # the manager's Slack user id once looked up (Slack).
    to_address = models.CharField(max_length=200, blank=True, default="", db_default="")
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.SCHEDULED)
    due_at = models.DateTimeField()
    postponed_reason = models.CharField(max_length=200, blank=True)
    skip_reason = models.CharField(max_length=200, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField()
    claimed_at = models.DateTimeField(null=True, blank=True)
    # When a pass last handed this queued send to a delivery task. A queued send whose task was
    # lost (flushed broker) is handed over again once this is old enough.
    enqueued_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    subject = models.CharField(max_length=300, blank=True)
    # Where the CTA leads, with UTM parameters; the click redirect goes only here.
    destination_url = models.URLField(max_length=2000, blank=True)
    # Indexed while the send may still need confirming (see Meta): it gets its ids as it goes out.
    message_id = models.CharField(max_length=300, blank=True)
    esp_message_id = models.CharField(max_length=300, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    opened_at = models.DateTimeField(null=True, blank=True)
    clicked_at = models.DateTimeField(null=True, blank=True)
    click_count = models.PositiveIntegerField(default=0)
    bounced_at = models.DateTimeField(null=True, blank=True)
    complained_at = models.DateTimeField(null=True, blank=True)
    unsubscribed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-due_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["enrollment", "step", "audience", "channel"],
                condition=Q(kind="step"),
                name="send_once_per_step",
            ),
            models.UniqueConstraint(
                fields=["enrollment", "kind", "audience", "channel"],
                condition=~Q(kind="step"),
                name="send_once_per_kind",
            ),
        ]
        indexes = [
            models.Index(
                fields=["due_at"], name="send_scheduled_idx", condition=Q(status="scheduled")
            ),
            # Delivery claims queued sends and reconciles those left sending. Sent, failed and
            # skipped rows, the bulk of the table, stay out: marking a send sent adds no entry,
            # and the index stays the size of the work in flight.
            models.Index(
                fields=["status", "due_at"],
                name="send_in_flight_idx",
                condition=Q(status__in=["queued", "sending"]),
            ),
            models.Index(fields=["learner", "-sent_at"], name="send_learner_recent_idx"),
            models.Index(fields=["campaign", "step", "variant"], name="send_report_idx"),
            models.Index(
                fields=["manager"], name="send_manager_idx", condition=Q(manager__isnull=False)
            ),
            # ESP events look sends up by these ids. Our Message-ID is needed only until the
            # ESP's id is stored: a sent row is found by esp_message_id.
            models.Index(
                fields=["message_id"],
                name="send_message_id_idx",
                condition=Q(status__in=["sending", "unconfirmed"]) & ~Q(message_id=""),
            ),
            models.Index(
                fields=["esp_message_id"],
                name="send_esp_message_id_idx",
                condition=~Q(esp_message_id=""),
            ),
        ]

    def __str__(self) -> str:
        return f"Send {self.pk} ({self.kind}, {self.audience}, {self.status})"


class PassLock(models.Model):
    """A single row the evaluation pass locks, so only one pass runs at a time."""

    name = models.CharField(max_length=50, unique=True)
    # The moment the last pass ran for (its "now", which tests and run_pass --now choose) …
    last_started_at = models.DateTimeField(null=True, blank=True)
    last_finished_at = models.DateTimeField(null=True, blank=True)
    # … and when it really ran, by the wall clock, so a stuck or slow pass shows in the admin.
    wall_started_at = models.DateTimeField(null=True, blank=True)
    wall_finished_at = models.DateTimeField(null=True, blank=True)
    last_duration_ms = models.PositiveIntegerField(null=True, blank=True)
    # Campaigns whose part of the last pass failed and was rolled back, with the error.
    last_errors = models.TextField(blank=True)

    def __str__(self) -> str:
        return self.name
