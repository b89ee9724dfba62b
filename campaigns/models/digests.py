"""The weekly team digest: when it goes out (DigestSettings), its outbox (ManagerDigest), and
what a manager did from it (DigestCheckIn).

A digest is its own outbox rather than a kind of Send. A Send is one message about one
learner in one campaign (its enrollment, campaign and learner are required, its uniqueness is
per enrollment, step and audience, and every report counts sends per campaign); a digest is
one message per manager and week about many learners across campaigns. Making those columns
nullable would weaken every guarantee and report built on them for a row that fits none of
them. The digest keeps the same lifecycle columns (status, attempts, claimed_at, sent_at,
message ids …) with the same status values, so delivery claims, marks, transmits, records and
reconciles digests with the same functions it uses for sends.
"""

from __future__ import annotations

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from learners.models import Learner, Manager

from .building import Channel
from .outbox import Enrollment, Send

WEEKDAYS = [
    (0, "Monday"),
    (1, "Tuesday"),
    (2, "Wednesday"),
    (3, "Thursday"),
    (4, "Friday"),
    (5, "Saturday"),
    (6, "Sunday"),
]

# The channels a digest can go by. A text message cannot carry a team's table: it gives the
# counts and links to the digest's page.
DIGEST_CHANNELS = [
    (Channel.EMAIL, Channel.EMAIL.label),
    (Channel.SLACK, "Slack direct message"),
    (Channel.TEAMS, "Microsoft Teams team channel"),
    (Channel.SMS, "Text message with a link to the digest's page"),
]


class DigestSettings(models.Model):
    """The one row saying when digests go out and what "I've talked to them" does.

    One row for the whole product, not one per campaign: a digest covers a manager's reports
    in every campaign at once, so a per-campaign day and hour could not say when that single
    message goes out.
    """

    enabled = models.BooleanField(default=True, help_text="Send managers the weekly digest.")
    weekday = models.PositiveSmallIntegerField(
        choices=WEEKDAYS, default=0, help_text="The day it goes out, in each manager's time zone."
    )
    hour = models.PositiveSmallIntegerField(
        default=9,
        validators=[MaxValueValidator(23)],
        help_text="The local hour it goes out (0–23), in each manager's time zone.",
    )
    pause_days = models.PositiveSmallIntegerField(
        default=7,
        validators=[MinValueValidator(1), MaxValueValidator(60)],
        help_text="“I've talked to them” pauses that learner's reminders for this many days.",
    )
    channel = models.CharField(
        max_length=8,
        choices=DIGEST_CHANNELS,
        default=Channel.EMAIL,
        db_default=Channel.EMAIL,
        help_text="Slack: a direct message from the bot to each manager Slack knows. Teams: "
        "posted to the channel of the team all of the manager's reports are in (Learners › "
        "Teams channels). Text message: the team's counts and a link to the digest's page, to "
        "managers with a number and SMS consent. Anyone else, and a digest too large for one "
        "message, gets the email.",
    )
    from_name = models.CharField(max_length=100, blank=True, default="The Learning Team")
    postal_address = models.TextField(
        blank=True, help_text="The sender's postal address, shown in the digest's footer."
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "digest settings"
        verbose_name_plural = "digest settings"

    def __str__(self) -> str:
        return f"Weekly digest: {self.get_weekday_display()} {self.hour:02d}:00"

    @classmethod
    def current(cls) -> DigestSettings:
        """The settings row, or the defaults (Monday 09:00) until staff save it: reading it
        never writes, so every pass costs the same one query."""
        return cls.objects.filter(pk=1).first() or cls(pk=1)


class ManagerDigest(models.Model):
    """One weekly digest to one manager: the digest outbox. Unique per manager and week."""

    Status = Send.Status
    PENDING = Send.PENDING

    manager = models.ForeignKey(Manager, on_delete=models.CASCADE, related_name="digests")
    # The Monday (manager's local date) of the week this digest is for.
    week_of = models.DateField()
    to_email = models.EmailField(blank=True)
    # Slack, Teams or email (the fallback), decided when the digest is created; on Slack the
    # manager's Slack user id once known, on Teams the team whose channel it is posted to.
    channel = models.CharField(
        max_length=8, choices=Channel.choices, default=Channel.EMAIL, db_default=Channel.EMAIL
    )
    to_address = models.CharField(max_length=100, blank=True, default="", db_default="")
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.QUEUED)
    due_at = models.DateTimeField()
    skip_reason = models.CharField(max_length=200, blank=True)
    # Why it waits or changed channel (Slack's rate limit; by email after all).
    postponed_reason = models.CharField(max_length=200, blank=True, default="", db_default="")
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField()
    claimed_at = models.DateTimeField(null=True, blank=True)
    enqueued_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    subject = models.CharField(max_length=300, blank=True)
    message_id = models.CharField(max_length=300, blank=True)
    esp_message_id = models.CharField(max_length=300, blank=True)
    # Taken when the digest is created, so next week's can say how the team moved.
    reports = models.PositiveIntegerField(default=0, help_text="Reports the digest is about.")
    team_completion_rate = models.FloatField(null=True, blank=True)
    previous_completion_rate = models.FloatField(null=True, blank=True)

    class Meta:
        ordering = ["-week_of", "manager"]
        constraints = [
            models.UniqueConstraint(fields=["manager", "week_of"], name="digest_once_per_week"),
        ]
        indexes = [
            models.Index(
                fields=["status", "due_at"],
                name="digest_in_flight_idx",
                condition=Q(status__in=["queued", "sending"]),
            ),
        ]

    def __str__(self) -> str:
        return f"Digest {self.pk} to {self.manager_id} for {self.week_of} ({self.status})"


class DigestCheckIn(models.Model):
    """A manager said "I've talked to them" about one report from one digest."""

    digest = models.ForeignKey(ManagerDigest, on_delete=models.CASCADE, related_name="check_ins")
    learner = models.ForeignKey(Learner, on_delete=models.CASCADE, related_name="check_ins")
    enrollment = models.ForeignKey(
        Enrollment, null=True, blank=True, on_delete=models.SET_NULL, related_name="check_ins"
    )
    created_at = models.DateTimeField()
    paused_until = models.DateTimeField()

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["digest", "learner"], name="check_in_once"),
        ]

    def __str__(self) -> str:
        return f"Check-in on {self.learner_id} from digest {self.digest_id}"
