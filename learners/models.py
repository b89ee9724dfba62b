"""Who the learners are and what they did in the LMS."""

from __future__ import annotations

import zoneinfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models.functions import Lower

from learners import phones


def validate_time_zone(value: str) -> None:
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValidationError(
            "%(value)s is not an IANA time zone (e.g. Europe/Berlin)", params={"value": value}
        ) from None


def validate_phone(value: str) -> None:
    """A stored number must already be E.164 (imports normalize what people type)."""
    if not value:
        return
    try:
        stored_form = phones.to_e164(value) == value
    except phones.BadPhoneNumber:
        stored_form = False
    if not stored_form:
        raise ValidationError(
            "%(value)s is not a phone number in E.164 form (e.g. +4915112345678)",
            params={"value": value},
        )


def normalize_email(value: str) -> str:
    """Emails are stored lower-cased and stripped so that one person is one row."""
    return (value or "").strip().lower()


class Manager(models.Model):
    """A learner's manager: gets nudges and hand-offs about their people, and may opt out."""

    email = models.EmailField(unique=True)
    name = models.CharField(max_length=200, blank=True)
    # Set when the manager is a learner too (matched by email on import).
    learner = models.OneToOneField(
        "Learner", null=True, blank=True, on_delete=models.SET_NULL, related_name="as_manager"
    )
    nudges_opted_out_at = models.DateTimeField(null=True, blank=True)
    # The manager's Slack user id, from users.lookupByEmail on the first Slack nudge; when
    # Slack answered that no user has this email, the moment it did (their nudges go by email
    # until staff clear it).
    slack_user_id = models.CharField(
        "Slack user id", max_length=40, blank=True, default="", db_default=""
    )
    slack_not_found_at = models.DateTimeField("not on Slack since", null=True, blank=True)
    # Every message to the manager (nudges, hand-offs, and any later kind) waits until then.
    messages_paused_until = models.DateTimeField(null=True, blank=True)
    # The weekly team digest has an opt-out of its own; opting out of nudges stops it too.
    digests_opted_out_at = models.DateTimeField(null=True, blank=True)
    # Blank: the MANAGER_DEFAULT_TIME_ZONE setting. The digest goes out at the staff-chosen
    # hour in this zone.
    time_zone = models.CharField(
        max_length=64,
        blank=True,
        validators=[validate_time_zone],
        help_text=(
            "IANA time zone for the weekly digest, e.g. America/New_York; blank uses the default."
        ),
    )
    # The manager's mobile number in E.164, for nudges by text message: like a learner's, it
    # needs their consent and no opt-out (STOP) since.
    phone = models.CharField(
        max_length=20, blank=True, default="", db_default="", validators=[validate_phone]
    )
    sms_consent_at = models.DateTimeField("SMS consent given", null=True, blank=True)
    sms_opted_out_at = models.DateTimeField("SMS opted out", null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "email"]

    def __str__(self) -> str:
        return f"{self.name} <{self.email}>" if self.name else self.email

    def save(self, *args: object, **kwargs: object) -> None:
        self.email = normalize_email(self.email)
        super().save(*args, **kwargs)  # type: ignore[arg-type]


class Learner(models.Model):
    class SuppressionReason(models.TextChoices):
        BOUNCE = "bounce", "Hard bounce"
        COMPLAINT = "complaint", "Spam complaint"
        # The learner's data was erased (GDPR art. 17) and the address came back later.
        ERASED = "erased", "Erased on request"

    external_id = models.CharField("LMS id", max_length=100, unique=True)
    email = models.EmailField(unique=True)
    first_name = models.CharField(max_length=100, blank=True)
    last_name = models.CharField(max_length=100, blank=True)
    role = models.CharField(max_length=100, blank=True)
    team = models.CharField(max_length=100, blank=True)
    manager = models.ForeignKey(
        Manager, null=True, blank=True, on_delete=models.SET_NULL, related_name="reports"
    )
    time_zone = models.CharField(max_length=64, default="UTC", validators=[validate_time_zone])
    locale = models.CharField(max_length=20, default="en", blank=True)
    last_active_at = models.DateTimeField(null=True, blank=True)
    # A mobile number in E.164 (+4915112345678), checked with phonenumbers on import. Text
    # messages need it, the learner's consent, and no opt-out (STOP) since.
    phone = models.CharField(
        max_length=20, blank=True, default="", db_default="", validators=[validate_phone]
    )
    sms_consent_at = models.DateTimeField("SMS consent given", null=True, blank=True)
    sms_opted_out_at = models.DateTimeField("SMS opted out", null=True, blank=True)
    # Share of the learner's courses completed, 0–100; kept up to date from CourseProgress so that
    # segments can filter on it without aggregating progress rows for a million learners.
    completion_rate = models.FloatField(
        null=True, blank=True, validators=[MinValueValidator(0), MaxValueValidator(100)]
    )
    unsubscribed_at = models.DateTimeField(null=True, blank=True)
    suppressed_at = models.DateTimeField(null=True, blank=True)
    suppression_reason = models.CharField(
        max_length=20, choices=SuppressionReason.choices, blank=True
    )
    sunset_at = models.DateTimeField(null=True, blank=True)
    # The learner's own choices in the preference centre (written by contactability only).
    reminders_paused_until = models.DateTimeField(null=True, blank=True)
    weekly_cap = models.PositiveSmallIntegerField(
        "personal weekly cap",
        null=True,
        blank=True,
        validators=[MinValueValidator(1)],
        help_text="At most this many emails in any 7 days, when lower than the campaign's cap.",
    )
    # Set when the learner's personal data was erased: the row stays, anonymised, because the
    # campaigns' results count its enrollments, sends and activity.
    erased_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["last_name", "first_name", "id"]
        permissions = [
            ("manage_learner_data", "Can export and erase a learner's personal data"),
        ]
        constraints = [
            # Stored lower-case, so the plain unique index is case-insensitive.
            models.CheckConstraint(
                condition=models.Q(email=Lower("email")), name="learner_email_lowercase"
            ),
        ]
        indexes = [
            # Segment queries: inactivity window over contactable learners, optionally by role/team.
            models.Index(
                fields=["last_active_at"],
                name="learner_contactable_idx",
                condition=models.Q(
                    unsubscribed_at__isnull=True, suppressed_at__isnull=True, sunset_at__isnull=True
                ),
            ),
            # Who came back: the pass looks only at learners active since the oldest active
            # enrollment of a campaign, whatever their contactability.
            models.Index(fields=["last_active_at"], name="learner_last_active_idx"),
            models.Index(fields=["role", "last_active_at"], name="learner_role_active_idx"),
            models.Index(fields=["team", "last_active_at"], name="learner_team_active_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.full_name} <{self.email}>" if self.full_name else self.email

    def save(self, *args: object, **kwargs: object) -> None:
        self.email = normalize_email(self.email)
        super().save(*args, **kwargs)  # type: ignore[arg-type]

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


class TeamChannel(models.Model):
    """Where a team's nudges are posted in Microsoft Teams: the URL of the Workflows webhook
    (“Post to a channel when a webhook request is received”) its owners created. Matched on the
    ``team`` of learners, as the LMS names it."""

    team = models.CharField(max_length=100, unique=True)
    webhook_url = models.URLField(
        "Workflows webhook URL",
        max_length=1000,
        help_text="From the Teams workflow “Post to a channel when a webhook request is "
        "received”; https only.",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["team"]
        verbose_name = "Teams channel"

    def __str__(self) -> str:
        return self.team

    def clean(self) -> None:
        if self.webhook_url and not self.webhook_url.lower().startswith("https://"):
            raise ValidationError({"webhook_url": "The webhook URL must start with https://."})


class Course(models.Model):
    class CourseType(models.TextChoices):
        COMPLIANCE = "compliance", "Compliance"
        ONBOARDING = "onboarding", "Onboarding"
        ELECTIVE = "elective", "Elective"
        COHORT = "cohort", "Cohort"
        OTHER = "other", "Other"

    external_id = models.CharField("LMS id", max_length=100, unique=True)
    title = models.CharField(max_length=300)
    course_type = models.CharField(
        max_length=20, choices=CourseType.choices, default=CourseType.OTHER, db_index=True
    )
    url = models.URLField(max_length=1000, blank=True)

    class Meta:
        ordering = ["title"]

    def __str__(self) -> str:
        return self.title


class CourseProgress(models.Model):
    """Where a learner stands in one course, and the deep link that resumes it."""

    learner = models.ForeignKey(Learner, on_delete=models.CASCADE, related_name="progress")
    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="progress")
    percent_complete = models.FloatField(
        default=0, validators=[MinValueValidator(0), MaxValueValidator(100)]
    )
    last_module = models.CharField("last completed module", max_length=300, blank=True)
    next_module = models.CharField(max_length=300, blank=True)
    resume_url = models.URLField(
        "resume deep link",
        max_length=1000,
        blank=True,
        help_text="Opens the course at the point of interruption.",
    )
    minutes_remaining = models.PositiveIntegerField(null=True, blank=True)
    updated_at = models.DateTimeField()

    class Meta:
        verbose_name_plural = "course progress"
        constraints = [
            models.UniqueConstraint(fields=["learner", "course"], name="progress_unique"),
        ]
        indexes = [models.Index(fields=["learner", "-updated_at"], name="progress_latest_idx")]

    def __str__(self) -> str:
        return f"{self.learner_id} in {self.course_id}: {self.percent_complete:.0f}%"


class ActivityEvent(models.Model):
    class Kind(models.TextChoices):
        LOGIN = "login", "Login"
        MODULE_STARTED = "module_started", "Module started"
        MODULE_COMPLETED = "module_completed", "Module completed"
        COURSE_COMPLETED = "course_completed", "Course completed"
        # Launched, viewed, attempted …: the learner was there, nothing more is known.
        ACTIVE = "active", "Active in the LMS"
        OTHER = "other", "Other"

    external_id = models.CharField("LMS event id", max_length=200, unique=True)
    learner = models.ForeignKey(Learner, on_delete=models.CASCADE, related_name="events")
    course = models.ForeignKey(
        Course, null=True, blank=True, on_delete=models.SET_NULL, related_name="events"
    )
    kind = models.CharField(max_length=30, choices=Kind.choices)
    occurred_at = models.DateTimeField()
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-occurred_at"]
        indexes = [models.Index(fields=["learner", "-occurred_at"], name="event_learner_idx")]

    def __str__(self) -> str:
        return f"{self.kind} by {self.learner_id} at {self.occurred_at:%Y-%m-%d %H:%M}"


class ColumnMapping(models.Model):
    """How one source's files name their columns, saved once by staff and used on every import
    of that source (e.g. a Moodle site whose custom profile field for the team is "squad")."""

    class Kind(models.TextChoices):
        LEARNERS = "learners", "Learners"
        COURSES = "courses", "Courses"
        PROGRESS = "progress", "Course progress"
        ACTIVITY = "activity", "Activity events"

    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.LEARNERS)
    source = models.CharField(
        max_length=100, help_text="Where the files come from, e.g. “Moodle (Berlin site)”."
    )
    #: The file's column → our column, e.g. {"Employee number": "external_id"}.
    columns = models.JSONField(default=dict, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["kind", "source"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "source"], name="column_mapping_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.source} ({self.get_kind_display().lower()})"


class LmsSource(models.Model):
    """An LMS that sends activity in its own standard (xAPI, Caliper, Moodle events).

    It signs in with HTTP Basic: ``key`` as the user name and a secret shown once when it is
    issued. Only a SHA-256 digest of the secret is kept: secrets are 32 random bytes, so a fast
    digest is as safe as a slow password hash here and costs nothing on every request.
    """

    name = models.CharField(max_length=200, unique=True)
    key = models.CharField("user name", max_length=40, unique=True, editable=False)
    secret_digest = models.CharField(max_length=64, editable=False)
    # Canvas signs its events with Instructure's keys, the same for every Canvas customer: the
    # sensor (the Canvas instance's URL) is what says an event comes from this LMS.
    caliper_sensor = models.URLField(
        "Caliper sensor",
        max_length=300,
        blank=True,
        help_text="For Canvas: the instance's URL as events name it (e.g. "
        "https://school.instructure.com/). Events from another sensor are refused.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name = "LMS source"

    def __str__(self) -> str:
        return self.name

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class LmsStatement(models.Model):
    """A statement or event exactly as an LMS sent it, and what was done with it."""

    class Standard(models.TextChoices):
        XAPI = "xapi", "xAPI"
        CALIPER = "caliper", "Caliper"
        MOODLE = "moodle", "Moodle event"

    class Status(models.TextChoices):
        APPLIED = "applied", "Applied"
        IGNORED = "ignored", "Ignored"

    source = models.ForeignKey(LmsSource, on_delete=models.PROTECT, related_name="statements")
    standard = models.CharField(max_length=10, choices=Standard.choices)
    statement_id = models.CharField("id", max_length=200)
    # SHA-256 of the statement's canonical JSON: tells a replay from a different statement.
    digest = models.CharField(max_length=64)
    verb = models.CharField(max_length=300, blank=True)
    actor = models.CharField(max_length=300, blank=True)
    learner = models.ForeignKey(
        Learner, null=True, blank=True, on_delete=models.SET_NULL, related_name="statements"
    )
    status = models.CharField(max_length=10, choices=Status.choices)
    reason = models.CharField(max_length=300, blank=True)
    raw = models.JSONField()
    occurred_at = models.DateTimeField()
    received_at = models.DateTimeField()

    class Meta:
        verbose_name = "LMS statement"
        constraints = [
            # The id leads: a batch's lookup goes by its ids even while the planner's
            # statistics still believe the table small.
            models.UniqueConstraint(
                fields=["statement_id", "standard"], name="lms_statement_unique"
            ),
        ]
        indexes = [models.Index(fields=["-received_at"], name="lms_statement_received_idx")]

    def __str__(self) -> str:
        return f"{self.get_standard_display()} {self.statement_id}"


class ContactChannel(models.TextChoices):
    """The ways a learner can be reached. Each channel has its default when the learner has
    made no choice (:data:`CHANNEL_DEFAULT_ON`): email is on, as it always was; a channel that
    needs consent first (SMS) starts off and is offered only where the learner can get it."""

    EMAIL = "email", "Email"
    # Offered only to a learner with a number who consented; the choice is the learner's SMS
    # opt-out (``sms_opted_out_at``), the same one STOP writes, not a ChannelPreference row.
    SMS = "sms", "Text messages (SMS)"


CHANNEL_DEFAULT_ON = {ContactChannel.EMAIL: True}


class ChannelPreference(models.Model):
    """A learner's explicit choice for one channel; no row means the channel's default."""

    learner = models.ForeignKey(
        Learner, on_delete=models.CASCADE, related_name="channel_preferences"
    )
    channel = models.CharField(max_length=20, choices=ContactChannel.choices)
    enabled = models.BooleanField()
    changed_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["learner", "channel"], name="channel_preference_unique"
            ),
        ]

    def __str__(self) -> str:
        state = "on" if self.enabled else "off"
        return f"{self.get_channel_display()} {state} for {self.learner_id}"


class PreferenceChange(models.Model):
    """What a learner or a manager changed about being contacted, when, and from where: the
    record behind their admin timeline."""

    class Change(models.TextChoices):
        PAUSED = "paused", "Paused reminders"
        RESUMED = "resumed", "Resumed reminders"
        WEEKLY_CAP = "weekly_cap", "Personal weekly cap"
        CHANNEL = "channel", "Channel"
        UNSUBSCRIBED = "unsubscribed", "Unsubscribed from all"
        MANAGER_PAUSED = "manager_paused", "Paused manager messages"
        MANAGER_RESUMED = "manager_resumed", "Resumed manager messages"
        MANAGER_OPTED_OUT = "manager_opted_out", "Stopped manager messages"

    class Source(models.TextChoices):
        PREFERENCE_CENTRE = "preference_centre", "Preference centre"
        UNSUBSCRIBE_LINK = "unsubscribe_link", "Unsubscribe link or one-click header"
        ESP = "esp", "The email provider's report"
        TEXT_REPLY = "text_reply", "A reply to a text message (STOP, START)"
        DEMO = "demo", "Demo data"

    learner = models.ForeignKey(
        Learner, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    manager = models.ForeignKey(
        Manager, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    change = models.CharField(max_length=20, choices=Change.choices)
    detail = models.CharField(max_length=200, blank=True)
    source = models.CharField(max_length=20, choices=Source.choices)
    at = models.DateTimeField()

    class Meta:
        ordering = ["-at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(learner__isnull=False, manager__isnull=True)
                | models.Q(learner__isnull=True, manager__isnull=False),
                name="preference_change_one_person",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_change_display()} {self.detail}".strip()


class ErasedAddress(models.Model):
    """A keyed one-way hash of an erased learner's or manager's address (see
    :mod:`learners.erasure`): enough to recognise the address when an import, the sync or the
    API brings it back, so that it is created suppressed, and nothing to read it back from."""

    digest = models.CharField(max_length=64, unique=True)
    erased_at = models.DateTimeField()

    class Meta:
        ordering = ["-erased_at"]

    def __str__(self) -> str:
        return f"erased address {self.digest[:12]}…"


class Erasure(models.Model):
    """The log of erasures: who erased whom and when, with no personal data of the learner."""

    erased_at = models.DateTimeField()
    erased_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Kept apart from the user, so the log still says who after the account is deleted.
    erased_by_username = models.CharField("erased by", max_length=150)
    # The LMS id, so the LMS side can be told; an id that is an address is kept only hashed.
    lms_id = models.CharField("LMS id", max_length=100, blank=True)
    learner_pk = models.PositiveBigIntegerField("learner row", null=True, blank=True)
    manager_pk = models.PositiveBigIntegerField("manager row", null=True, blank=True)
    #: Rows changed per table, e.g. {"campaigns.Send": 6}.
    counts = models.JSONField(default=dict)

    class Meta:
        ordering = ["-erased_at"]

    def __str__(self) -> str:
        return f"erasure of {self.lms_id or 'a manager'} at {self.erased_at:%Y-%m-%d %H:%M}"
