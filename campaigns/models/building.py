"""What staff build: incentives, segments, campaigns, steps and their A/B variants."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from learners.models import ActivityEvent


class Incentive(models.Model):
    class Kind(models.TextChoices):
        BADGE = "badge", "Badge"
        CREDIT = "credit", "Learning credit"
        EARLY_ACCESS = "early_access", "Early access"
        DISCOUNT_CODE = "discount_code", "Discount code"

    kind = models.CharField(max_length=20, choices=Kind.choices)
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    value = models.CharField(
        max_length=200, blank=True, help_text="e.g. a credit amount, a code, or the cohort's name."
    )
    expires_in_days = models.PositiveIntegerField(
        null=True, blank=True, help_text="Days after the email is sent; empty for no expiry."
    )

    class Meta:
        ordering = ["title"]

    def __str__(self) -> str:
        return f"{self.title} ({self.get_kind_display()})"


class Segment(models.Model):
    """Rules that pick inactive learners; staff edit them in the admin, never in code.

    Unsubscribed, suppressed and sunset learners are always left out.
    """

    name = models.CharField(max_length=200, unique=True)
    description = models.TextField(blank=True)
    min_inactive_days = models.PositiveIntegerField(
        null=True, blank=True, help_text="At least this many days since the last activity."
    )
    max_inactive_days = models.PositiveIntegerField(
        null=True, blank=True, help_text="At most this many days since the last activity."
    )
    roles = models.CharField(
        max_length=500, blank=True, help_text="Comma-separated; empty for every role."
    )
    teams = models.CharField(
        max_length=500, blank=True, help_text="Comma-separated; empty for every team."
    )
    course_types = models.CharField(
        max_length=200,
        blank=True,
        help_text="Learners with an unfinished course of one of these types; empty for any.",
    )
    min_completion_rate = models.FloatField(
        null=True,
        blank=True,
        validators=[MinValueValidator(0), MaxValueValidator(100)],
        help_text="Prior completion rate, percent.",
    )
    max_completion_rate = models.FloatField(
        null=True, blank=True, validators=[MinValueValidator(0), MaxValueValidator(100)]
    )
    has_manager = models.BooleanField(
        null=True, blank=True, help_text="Yes: only learners with a manager; No: only without."
    )
    answered = models.CharField(
        "answered “why did you stop?”",
        max_length=500,
        blank=True,
        # Database defaults here and below: rows written by raw SQL (benchmarks, sync) need not
        # name the column.
        default="",
        db_default="",
        help_text="Learners who gave one of these answers (codes, comma-separated); empty for "
        "anyone.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @staticmethod
    def split(value: str) -> list[str]:
        return [item.strip() for item in value.split(",") if item.strip()]

    @property
    def role_list(self) -> list[str]:
        return self.split(self.roles)

    @property
    def team_list(self) -> list[str]:
        return self.split(self.teams)

    @property
    def course_type_list(self) -> list[str]:
        return self.split(self.course_types)

    @property
    def answered_list(self) -> list[str]:
        return self.split(self.answered)


def validate_activity_kinds(value: str) -> None:
    known = set(ActivityEvent.Kind.values)
    unknown = [kind for kind in Segment.split(value) if kind not in known]
    if unknown:
        raise ValidationError(
            "Unknown activity kind(s): %(unknown)s. Use: %(known)s.",
            params={"unknown": ", ".join(unknown), "known": ", ".join(sorted(known))},
        )


def default_weekdays() -> str:
    return "0,1,2,3,4"


class Campaign(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        ACTIVE = "active", "Active"
        PAUSED = "paused", "Paused"
        ARCHIVED = "archived", "Archived"

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=100, unique=True)
    description = models.TextField(blank=True)
    segment = models.ForeignKey(Segment, on_delete=models.PROTECT, related_name="campaigns")
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.DRAFT, db_index=True
    )
    priority = models.PositiveSmallIntegerField(
        default=100,
        help_text="Lower runs first. A learner is in at most one campaign at a time, so the "
        "first campaign whose segment matches takes them.",
    )
    goal_window_days = models.PositiveSmallIntegerField(
        default=30,
        validators=[MinValueValidator(1), MaxValueValidator(365)],
        help_text="A learner who returns within this many days of enrolling counts as reactivated.",
    )
    goal_activity_kinds = models.CharField(
        max_length=200,
        blank=True,
        validators=[validate_activity_kinds],
        help_text="Comma-separated kinds of LMS activity that count as coming back, e.g. "
        "“module_started, module_completed”; empty counts any activity.",
    )
    survey_answer_counts = models.BooleanField(
        "a survey answer counts as coming back",
        default=False,
        db_default=False,
        help_text="A “why did you stop?” answer after enrolling ends the enrollment as "
        "reactivated, and counts as reactivated in the results, like LMS activity.",
    )
    # What the enrollments' recorded outcomes (Enrollment.outcome_*) cover: the enrollments up
    # to this id, from the activity events up to this one, with this goal window (0: never
    # recorded) and these kinds. Written only by campaigns.engine.outcomes (save() leaves them
    # alone); a report trusts a recorded outcome only while the window and kinds are still
    # the campaign's.
    outcomes_enrollment_id = models.BigIntegerField(default=0, db_default=0, editable=False)
    outcomes_event_id = models.BigIntegerField(default=0, db_default=0, editable=False)
    outcomes_window_days = models.PositiveSmallIntegerField(default=0, db_default=0, editable=False)
    outcomes_activity_kinds = models.CharField(
        max_length=200, blank=True, default="", db_default="", editable=False
    )
    holdout_percent = models.PositiveSmallIntegerField(
        default=10,
        validators=[MaxValueValidator(50)],
        help_text="Share of enrolled learners kept as a control group that gets nothing.",
    )
    quiet_hours_start = models.TimeField(
        default=dt.time(20, 0), help_text="No email from this time (learner's time zone) …"
    )
    quiet_hours_end = models.TimeField(default=dt.time(8, 0), help_text="… until this time.")
    sending_weekdays = models.CharField(
        max_length=20,
        default=default_weekdays,
        help_text="Days mail may go out in the learner's time zone: 0=Monday … 6=Sunday.",
    )
    weekly_cap = models.PositiveSmallIntegerField(
        default=3,
        validators=[MinValueValidator(1)],
        help_text="At most this many emails per learner in any 7 days, across all campaigns.",
    )
    sunset_after_days = models.PositiveSmallIntegerField(
        default=7,
        help_text="Days after the last step with no activity before the learner is sunset.",
    )
    welcome_back_enabled = models.BooleanField(
        default=False, help_text="Send a milestone email to learners who return."
    )
    welcome_back_subject = models.CharField(max_length=200, blank=True)
    welcome_back_body = models.TextField(blank=True)
    welcome_back_incentive = models.ForeignKey(
        Incentive, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    utm_source = models.CharField(max_length=100, default="reengagement")
    utm_campaign = models.CharField(
        max_length=100, blank=True, help_text="Empty uses the campaign's slug."
    )
    from_name = models.CharField(max_length=100, blank=True)
    from_email = models.EmailField(blank=True)
    reply_to = models.EmailField(blank=True)
    postal_address = models.TextField(
        blank=True, help_text="The sender's postal address, shown in every email's footer."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    launched_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["priority", "name"]
        permissions = [
            ("launch_campaign", "Can launch, pause and archive campaigns"),
            ("view_results", "Can view campaign results"),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args: Any, **kwargs: Any) -> None:
        """Save, leaving the recorded-outcome bookkeeping (``outcomes_*``) of a stored campaign
        to its one writer: an admin form loaded before a recording must not write back the
        older values over the newer."""
        if self.pk is None:
            # A new campaign (a duplicate too) has recorded nothing yet.
            for f in self._meta.concrete_fields:
                if f.name.startswith("outcomes_"):
                    setattr(self, f.attname, f.get_default())
        elif not self._state.adding and kwargs.get("update_fields") is None:
            kwargs["update_fields"] = [
                f.name
                for f in self._meta.concrete_fields
                if not f.primary_key and not f.name.startswith("outcomes_")
            ]
        super().save(*args, **kwargs)

    @property
    def weekday_list(self) -> list[int]:
        return sorted({int(d) for d in self.sending_weekdays.split(",") if d.strip().isdigit()})

    @property
    def goal_activity_kind_list(self) -> list[str]:
        """The activity kinds that count as coming back; empty means any."""
        return Segment.split(self.goal_activity_kinds)

    @property
    def utm_campaign_value(self) -> str:
        return self.utm_campaign or self.slug


class Audience(models.TextChoices):
    LEARNER = "learner", "Learner"
    MANAGER = "manager", "Manager"
    BOTH = "both", "Learner and manager"


class Channel(models.TextChoices):
    """How a message reaches its recipient. Email is the fallback for anyone who has no
    address on a step's channel."""

    EMAIL = "email", "Email"
    SLACK = "slack", "Slack direct message (managers)"
    TEAMS = "teams", "Microsoft Teams team channel (managers)"
    SMS = "sms", "Text message (SMS)"


class CtaTarget(models.TextChoices):
    RESUME = "resume", "Resume the course where they stopped"
    NEXT_MODULE = "next_module", "Open the next module"
    SURVEY = "survey", "“Why did you stop?” survey"
    URL = "url", "A URL"


class Step(models.Model):
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="steps")
    position = models.PositiveSmallIntegerField(default=1)
    name = models.CharField(
        max_length=100, blank=True, help_text="For staff, e.g. “Day 3 next module”."
    )
    delay_days = models.PositiveSmallIntegerField(default=0, help_text="Days after enrollment.")
    delay_hours = models.PositiveSmallIntegerField(default=0, validators=[MaxValueValidator(23)])
    audience = models.CharField(max_length=10, choices=Audience.choices, default=Audience.LEARNER)
    channel = models.CharField(
        max_length=8,
        choices=Channel.choices,
        default=Channel.EMAIL,
        db_default=Channel.EMAIL,
        help_text="Anyone without an address on this channel (no Slack account, no team "
        "webhook, no mobile number or no SMS consent) gets the email instead.",
    )
    subject = models.CharField(max_length=200)
    preheader = models.CharField(max_length=200, blank=True)
    body = models.TextField()
    cta_label = models.CharField("CTA label", max_length=80)
    cta_target = models.CharField(
        "CTA target", max_length=20, choices=CtaTarget.choices, default=CtaTarget.RESUME
    )
    cta_url = models.URLField("CTA URL", max_length=1000, blank=True, help_text="For a URL target.")
    incentive = models.ForeignKey(
        Incentive, null=True, blank=True, on_delete=models.SET_NULL, related_name="steps"
    )
    # The manager's copy when the audience includes the manager: a short nudge with a line to send.
    manager_subject = models.CharField(max_length=200, blank=True)
    manager_body = models.TextField(blank=True)
    manager_script = models.CharField(
        max_length=300,
        blank=True,
        help_text="The line the manager can send as is, e.g. “I noticed you paused at "
        "{{ last_module }} — can you finish it by {{ finish_by }}?”",
    )
    sms_body = models.CharField(
        "text message",
        max_length=300,
        blank=True,
        default="",
        db_default="",
        help_text="For SMS steps: the text before the link. Only {{ first_name }} may be "
        "used; with the link and “Reply STOP to opt out” it must fit two SMS segments.",
    )
    manager_sms_body = models.CharField(
        "text message to the manager",
        max_length=300,
        blank=True,
        default="",
        db_default="",
        help_text="For SMS steps to the manager: the text before the link, which opens the "
        "note to the learner. Only {{ manager_first_name }} and the learner's {{ first_name }} "
        "may be used; with the link and “Reply STOP to opt out” it must fit two SMS segments.",
    )

    class Meta:
        ordering = ["campaign", "position"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "position"], name="step_position_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.position}. {self.name or self.subject}"

    @property
    def delay(self) -> dt.timedelta:
        return dt.timedelta(days=self.delay_days, hours=self.delay_hours)


class Variant(models.Model):
    """An A/B version of a step; empty fields fall back to the step's."""

    step = models.ForeignKey(Step, on_delete=models.CASCADE, related_name="variants")
    label = models.CharField(max_length=20, default="A")
    weight = models.PositiveIntegerField(default=50)
    subject = models.CharField(max_length=200, blank=True)
    preheader = models.CharField(max_length=200, blank=True)
    body = models.TextField(blank=True)
    cta_label = models.CharField("CTA label", max_length=80, blank=True)
    cta_target = models.CharField(
        "CTA target", max_length=20, choices=CtaTarget.choices, blank=True
    )
    cta_url = models.URLField("CTA URL", max_length=1000, blank=True)
    delay_days = models.PositiveSmallIntegerField(null=True, blank=True)
    delay_hours = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MaxValueValidator(23)]
    )

    class Meta:
        ordering = ["step", "label"]
        constraints = [
            models.UniqueConstraint(fields=["step", "label"], name="variant_label_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.step} – variant {self.label}"
