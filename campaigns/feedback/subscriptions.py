"""What learners and managers do from an email: click, unsubscribe, answer the survey, opt out,
and choose in their preference centre (pause, fewer emails, channels), and a manager's "I've
talked to them" from the weekly digest.

Each takes effect at once: pending sends are skipped in the same transaction, and delivery
checks again when it claims a send.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import transaction
from django.db.models import DateTimeField, F, Value
from django.db.models.functions import Coalesce, Greatest

from campaigns.feedback import bots
from campaigns.models import (
    Audience,
    Click,
    DigestCheckIn,
    DigestSettings,
    Enrollment,
    ManagerDigest,
    Send,
    SurveyResponse,
)
from campaigns.models.outbox import EMAIL_OFF_REASON, MANAGER_PAUSED_REASON, PAUSED_REASON
from learners import contactability
from learners.models import (
    CHANNEL_DEFAULT_ON,
    ChannelPreference,
    ContactChannel,
    Learner,
    Manager,
    PreferenceChange,
)

CENTRE = PreferenceChange.Source.PREFERENCE_CENTRE


def record_click(
    *, send_id: int, now: dt.datetime, method: str = "GET", user_agent: str = ""
) -> str:
    """Record a click on a send and return the destination stored for it ("" if none).

    Every click is kept; one that looks automated (a HEAD, a scanner's user agent, a click
    within seconds of the message going out) is flagged and not counted as engagement.
    """
    row = Send.objects.filter(pk=send_id).values("destination_url", "sent_at", "delivered_at")
    send = row.first()
    if send is None:
        return ""
    reason = bots.automated_click_reason(
        method=method,
        user_agent=user_agent,
        at=now,
        delivered_at=send["delivered_at"] or send["sent_at"],
    )
    Click.objects.create(
        send_id=send_id,
        at=now,
        method=method[:8],
        user_agent=user_agent[:500],
        is_automated=bool(reason),
        automated_reason=reason,
    )
    if not reason:
        Send.objects.filter(pk=send_id).update(
            clicked_at=Coalesce(F("clicked_at"), now), click_count=F("click_count") + 1
        )
    return str(send["destination_url"] or "")


@transaction.atomic
def unsubscribe_learner(*, learner_id: int, now: dt.datetime, send_id: int | None = None) -> bool:
    """Unsubscribe a learner from every campaign. Returns False if the learner is unknown.

    Repeating it changes nothing: the first moment of unsubscribing is kept.
    """
    if not Learner.objects.filter(pk=learner_id).exists():
        return False
    contactability.unsubscribe_learners(
        learner_ids=[learner_id], now=now, source=PreferenceChange.Source.UNSUBSCRIBE_LINK
    )
    # Enrollments before sends, as the pass does when a learner comes back (no deadlock).
    Enrollment.objects.filter(learner_id=learner_id, status=Enrollment.Status.ACTIVE).update(
        status=Enrollment.Status.EXITED, ended_at=now, exit_reason="unsubscribed", next_due_at=None
    )
    if send_id is not None:
        Send.objects.filter(pk=send_id, learner_id=learner_id, unsubscribed_at__isnull=True).update(
            unsubscribed_at=now
        )
    Send.objects.filter(learner_id=learner_id, status__in=Send.PENDING).update(
        status=Send.Status.SKIPPED, skip_reason="learner unsubscribed"
    )
    return True


@transaction.atomic
def opt_out_manager(*, manager_id: int, now: dt.datetime) -> bool:
    """Stop nudges and hand-offs to a manager; their reports stay subscribed."""
    if not Manager.objects.filter(pk=manager_id).exists():
        return False
    contactability.opt_out_managers(
        manager_ids=[manager_id], now=now, source=PreferenceChange.Source.UNSUBSCRIBE_LINK
    )
    Send.objects.filter(
        manager_id=manager_id, audience=Audience.MANAGER, status__in=Send.PENDING
    ).update(status=Send.Status.SKIPPED, skip_reason="manager opted out")
    # The nudges' opt-out stops the weekly digest too.
    _skip_pending_digests(manager_id)
    return True


def _skip_pending_digests(manager_id: int) -> int:
    return ManagerDigest.objects.filter(
        manager_id=manager_id, status__in=ManagerDigest.PENDING
    ).update(status=ManagerDigest.Status.SKIPPED, skip_reason="manager opted out")


@transaction.atomic
def opt_out_manager_digests(*, manager_id: int, now: dt.datetime) -> bool:
    """Stop the weekly team digest to a manager; their nudges follow their own opt-out."""
    if not Manager.objects.filter(pk=manager_id).exists():
        return False
    contactability.opt_out_manager_digests(manager_ids=[manager_id], now=now)
    _skip_pending_digests(manager_id)
    return True


def check_in_report(*, digest: ManagerDigest, learner: Learner, now: dt.datetime) -> DigestCheckIn:
    """The manager talked to their report: pause the report's reminders for the staff-chosen
    number of days (``DigestSettings.pause_days``). Their next step waits until then (the
    enrollment's ``next_due_at``, and any step send not yet handed to the ESP); nothing is
    dropped. Repeating it from the same digest changes nothing."""
    with transaction.atomic():
        until = now + dt.timedelta(days=DigestSettings.current().pause_days)
        active = Enrollment.objects.filter(learner=learner, status=Enrollment.Status.ACTIVE)
        # The unique (digest, learner) row first: a second click, even a racing one, finds it
        # and pauses nothing again.
        check_in, created = DigestCheckIn.objects.get_or_create(
            digest=digest,
            learner=learner,
            defaults={
                "enrollment": active.order_by("-enrolled_at").first(),
                "created_at": now,
                "paused_until": until,
            },
        )
        if not created:
            return check_in
        later = Value(until, output_field=DateTimeField())
        active.filter(next_due_at__isnull=False).update(
            next_due_at=Greatest(F("next_due_at"), later)
        )
        Send.objects.filter(learner=learner, kind=Send.Kind.STEP, status__in=Send.PENDING).update(
            status=Send.Status.SCHEDULED,
            due_at=Greatest(F("due_at"), later),
            postponed_reason="manager talked to them",
            enqueued_at=None,
        )
        return check_in


def record_survey_answer(
    *, learner_id: int, send_id: int | None, reason: str, comment: str, now: dt.datetime
) -> SurveyResponse:
    """Store a "why did you stop?" answer; a second answer from the same email replaces it."""
    campaign_id = (
        Send.objects.filter(pk=send_id).values_list("campaign_id", flat=True).first()
        if send_id
        else None
    )
    values = {"reason": reason, "comment": comment[:2000], "created_at": now}
    if send_id is not None and Send.objects.filter(pk=send_id, learner_id=learner_id).exists():
        response, _ = SurveyResponse.objects.update_or_create(
            learner_id=learner_id,
            send_id=send_id,
            defaults={**values, "campaign_id": campaign_id},
        )
        return response
    return SurveyResponse.objects.create(learner_id=learner_id, **values)


@dataclass(frozen=True)
class LearnerChoices:
    """What the preference centre's form says: weeks to pause (0: no pause, None: keep a
    running pause as it is), a personal weekly cap (None: none) and each offered channel."""

    pause_weeks: int | None
    weekly_cap: int | None
    channels: dict[str, bool]


def available_channels(*, learner: Learner) -> list[str]:
    """The channels this learner can be reached on, and so may choose between."""
    # Email is every learner's. Text messages only where the learner has a number and
    # consented to them.
    channels = [ContactChannel.EMAIL.value]
    if learner.phone and learner.sms_consent_at:
        channels.append(ContactChannel.SMS.value)
    return channels


def learner_channels(*, learner: Learner) -> dict[str, bool]:
    """Each channel offered to the learner, and whether it is on (their choice, or its
    default)."""
    stored = dict(
        ChannelPreference.objects.filter(learner=learner).values_list("channel", "enabled")
    )
    stored[ContactChannel.SMS.value] = learner.sms_opted_out_at is None
    return {
        channel: bool(stored.get(channel, CHANNEL_DEFAULT_ON.get(channel, False)))  # type: ignore[call-overload]
        for channel in available_channels(learner=learner)
    }


@transaction.atomic
def save_learner_choices(*, learner_id: int, choices: LearnerChoices, now: dt.datetime) -> None:
    """Apply the preference centre's form: each change is written (and recorded) by
    :mod:`learners.contactability`; sends already waiting that a pause or a channel turned
    off would stop are skipped now, and the next pass decides the rest."""
    ids = [learner_id]
    if choices.pause_weeks is not None:
        if choices.pause_weeks:
            contactability.pause_learners(
                learner_ids=ids,
                until=now + dt.timedelta(weeks=choices.pause_weeks),
                now=now,
                source=CENTRE,
            )
            _skip_pending_learner_sends(learner_id, PAUSED_REASON)
        else:
            contactability.resume_learners(learner_ids=ids, now=now, source=CENTRE)
    contactability.set_learners_weekly_cap(
        learner_ids=ids, cap=choices.weekly_cap, now=now, source=CENTRE
    )
    for channel, enabled in choices.channels.items():
        contactability.set_learners_channel(
            learner_ids=ids, channel=channel, enabled=enabled, now=now, source=CENTRE
        )
    if choices.channels.get(ContactChannel.EMAIL.value) is False:
        _skip_pending_learner_sends(learner_id, EMAIL_OFF_REASON)


def _skip_pending_learner_sends(learner_id: int, reason: str) -> None:
    Send.objects.filter(
        learner_id=learner_id, audience=Audience.LEARNER, status__in=Send.PENDING
    ).update(status=Send.Status.SKIPPED, skip_reason=reason)


@transaction.atomic
def save_manager_pause(*, manager_id: int, pause_weeks: int | None, now: dt.datetime) -> None:
    """Pause a manager's messages for ``pause_weeks`` (0: resume now, None: keep as is)."""
    if pause_weeks is None:
        return
    if not pause_weeks:
        contactability.resume_managers(manager_ids=[manager_id], now=now, source=CENTRE)
        return
    contactability.pause_managers(
        manager_ids=[manager_id],
        until=now + dt.timedelta(weeks=pause_weeks),
        now=now,
        source=CENTRE,
    )
    Send.objects.filter(
        manager_id=manager_id, audience=Audience.MANAGER, status__in=Send.PENDING
    ).update(status=Send.Status.SKIPPED, skip_reason=MANAGER_PAUSED_REASON)
