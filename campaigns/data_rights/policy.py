"""What every table holds about a learner or a manager, and what erasing does to it: the one
place where personal fields are declared.

Export and erase both walk :data:`POLICY`. A table that relates to a learner or a manager —
directly or through a row that does (a click through its send) — must be listed here, and each
of its text and JSON columns must be either personal (with what it becomes) or kept (and why
in the README): ``tests/campaigns/data_rights/test_policy.py`` fails for a table or a column
that is neither, so a newly merged table cannot be forgotten.

Rows the campaigns' results count (enrollments, sends, activity, ESP events, clicks, survey
answers) are kept with their personal columns blanked: ``campaign_results`` reads only their
times, states and links, so its figures do not move. Rows no result needs are deleted.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from django.apps import apps
from django.db import models
from django.db.models import CharField, F, Value
from django.db.models.functions import Cast, Concat

Erase = Literal["anonymise", "delete"]
ANONYMISE: Erase = "anonymise"
DELETE: Erase = "delete"

#: Where erased rows point their address: unique per row, lower-case, never deliverable
#: (``.invalid`` is reserved by RFC 2606).
ERASED_DOMAIN = "erased.invalid"


def _erased(prefix: str, suffix: str = "") -> Any:
    return Concat(
        Value(prefix),
        Cast(F("pk"), output_field=CharField()),
        Value(suffix),
        output_field=CharField(),
    )


@dataclass(frozen=True)
class Redact:
    """Keep the text but replace the person's address in it (a staff note that quotes it)."""


@dataclass(frozen=True)
class Personal:
    """What one table holds about a person.

    ``learner`` / ``manager``: lookups from a row to the learner's / manager's id.
    ``address``: text columns that may hold the address itself (or ``mailto:`` and it); rows
    whose whole value is the address are found by them too.
    ``personal``: column → what erasing writes (a value, an expression, or :class:`Redact`).
    ``kept``: text columns that say nothing about the person, left as they are.
    """

    export_as: str
    learner: tuple[str, ...] = ()
    manager: tuple[str, ...] = ()
    address: tuple[str, ...] = ()
    erase: Erase = ANONYMISE
    personal: Mapping[str, Any] = field(default_factory=dict)
    kept: tuple[str, ...] = ()


POLICY: dict[str, Personal] = {
    "learners.Learner": Personal(
        export_as="profile",
        learner=("pk",),
        personal={
            "external_id": _erased("erased-"),
            "email": _erased("erased-", f"@{ERASED_DOMAIN}"),
            "first_name": "",
            "last_name": "",
            "role": "",
            "team": "",
            "manager": None,
            "time_zone": "UTC",
            "locale": "",
            "completion_rate": None,
            "phone": "",
        },
        kept=("suppression_reason",),
    ),
    "learners.Manager": Personal(
        export_as="as_manager",
        learner=("learner",),
        manager=("pk",),
        personal={
            "email": _erased("erased-manager-", f"@{ERASED_DOMAIN}"),
            "name": "",
            "learner": None,
            "slack_user_id": "",
            "time_zone": "",
            "phone": "",
            "sms_consent_at": None,
        },
    ),
    "learners.CourseProgress": Personal(export_as="progress", learner=("learner",), erase=DELETE),
    # The LMS's event ids stay: a replayed event is then recognised and not stored again.
    "learners.ActivityEvent": Personal(
        export_as="activity", learner=("learner",), kept=("external_id", "kind")
    ),
    "learners.LmsStatement": Personal(
        export_as="lms_statements",
        learner=("learner",),
        address=("actor",),
        personal={"actor": "", "raw": {}, "digest": "", "reason": ""},
        kept=("standard", "statement_id", "verb", "status"),
    ),
    # A person's choices say nothing once they are gone, and no result counts them.
    "learners.PreferenceChange": Personal(
        export_as="preference_changes",
        learner=("learner",),
        manager=("manager",),
        erase=DELETE,
        kept=("change", "detail", "source"),
    ),
    "learners.ChannelPreference": Personal(
        export_as="channel_preferences", learner=("learner",), erase=DELETE, kept=("channel",)
    ),
    # A digest is a message to the manager, kept like a send (its counts are the team's).
    "campaigns.ManagerDigest": Personal(
        export_as="digests",
        manager=("manager",),
        # A channel's fallback reason can name the address ("Slack knows no user …").
        personal={
            "to_email": "",
            "to_address": "",
            "subject": "",
            "last_error": "",
            "postponed_reason": "",
        },
        kept=("channel", "status", "skip_reason", "message_id", "esp_message_id"),
    ),
    "campaigns.DigestCheckIn": Personal(
        export_as="check_ins", learner=("learner",), manager=("digest__manager",)
    ),
    "campaigns.Enrollment": Personal(
        export_as="enrollments", learner=("learner",), kept=("status", "exit_reason")
    ),
    "campaigns.Send": Personal(
        export_as="sends",
        learner=("learner",),
        manager=("manager",),
        personal={
            "to_email": "",
            "to_address": "",
            "subject": "",
            "last_error": "",
            "destination_url": "",
            # A channel's fallback reason can name the address ("Slack knows no user …").
            "postponed_reason": "",
        },
        kept=(
            "kind",
            "channel",
            "audience",
            "status",
            "skip_reason",
            "message_id",
            "esp_message_id",
        ),
    ),
    "campaigns.EspEvent": Personal(
        export_as="esp_events",
        learner=("send__learner",),
        manager=("send__manager",),
        address=("recipient",),
        personal={
            "recipient": "",
            "description": "",
            "mta_response": "",
            "user_agent": "",
            "click_url": "",
            "raw": {},
            "outcome": "",
            "last_error": "",
        },
        kept=(
            "esp",
            "key",
            "event_type",
            "message_id",
            "reject_reason",
            "classification",
            "status_code",
        ),
    ),
    "campaigns.Click": Personal(
        export_as="clicks",
        learner=("send__learner",),
        manager=("send__manager",),
        personal={"user_agent": ""},
        kept=("method", "automated_reason"),
    ),
    # The keyed hash in learners.ErasedAddress replaces these rows: it suppresses for good.
    "campaigns.SuppressedAddress": Personal(
        export_as="suppressions",
        learner=("event__send__learner",),
        manager=("event__send__manager",),
        address=("address",),
        erase=DELETE,
    ),
    "campaigns.DeliverabilityAlert": Personal(
        export_as="deliverability_alerts",
        learner=("event__send__learner",),
        manager=("event__send__manager",),
        personal={"message": Redact()},
        kept=("kind", "level"),
    ),
    "campaigns.SurveyResponse": Personal(
        export_as="survey_answers",
        learner=("learner",),
        personal={"comment": ""},
        kept=("reason",),
    ),
    # Awards are no personal data beyond their link to the row: kept like the sends.
    "campaigns.Award": Personal(
        export_as="awards", learner=("learner",), kept=("kind", "title", "value", "code")
    ),
    "campaigns.AwardPush": Personal(
        export_as="award_pushes",
        learner=("award__learner",),
        personal={"last_error": ""},
        kept=("status",),
    ),
    "campaigns.DiscountCode": Personal(
        export_as="discount_codes", learner=("award__learner",), kept=("code",)
    ),
}

START = ("learners.Learner", "learners.Manager")


def relating_models() -> list[type[models.Model]]:
    """Every model with a relation to a learner or a manager, directly or through a row that
    has one (a click through its send), found from the models' metadata."""
    found = {apps.get_model(label) for label in START}
    changed = True
    while changed:
        changed = False
        for model in apps.get_models():
            if model in found:
                continue
            for f in model._meta.get_fields():
                forward = f.is_relation and f.concrete and not f.auto_created
                if forward and f.related_model in found:
                    found.add(model)
                    changed = True
                    break
    return sorted(found, key=lambda m: m._meta.label)


def text_columns(model: type[models.Model]) -> list[str]:
    """The model's columns that can hold text: where a name or an address could hide."""
    return [
        f.name
        for f in model._meta.concrete_fields
        if isinstance(f, models.CharField | models.TextField | models.JSONField)
    ]


def covered() -> Iterator[tuple[type[models.Model], Personal]]:
    """The tables of the policy, with their model, people's own rows last."""
    for label, personal in POLICY.items():
        if label not in START:
            yield apps.get_model(label), personal
    for label in START:
        yield apps.get_model(label), POLICY[label]
