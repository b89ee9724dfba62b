"""One timeline per person, for "why did she not get it?": enrollments, every send with its
status and reason, ESP events, clicks, survey answers, preference changes, awards, activity and
suppressions — newest first, in a fixed number of queries. Read only."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Q, QuerySet

from campaigns.models import (
    Award,
    AwardPush,
    Channel,
    Click,
    Enrollment,
    EspEvent,
    Incentive,
    Send,
    SuppressedAddress,
    SurveyReason,
    SurveyResponse,
)
from learners.models import ActivityEvent, Learner, Manager, PreferenceChange

ACTIVITY_SHOWN = 50


@dataclass(frozen=True)
class Entry:
    """One line of a timeline."""

    at: dt.datetime
    kind: str
    title: str
    detail: str = ""
    # Something that explains a message not arriving or not counting.
    flagged: bool = False


def _send_entry(send: Send) -> Entry:
    name = send.step.name if send.step else send.get_kind_display()
    title = f"{send.campaign.name} — {name}: {send.get_status_display().lower()}"
    reasons = [
        f"skipped: {send.skip_reason}" if send.skip_reason else "",
        f"postponed: {send.postponed_reason}" if send.postponed_reason else "",
        f"error: {send.last_error}" if send.last_error else "",
    ]
    outcomes = [
        f"{label} {value:%Y-%m-%d %H:%M}"
        for label, value in (
            ("delivered", send.delivered_at),
            ("opened", send.opened_at),
            ("clicked", send.clicked_at),
            ("bounced", send.bounced_at),
            ("complained", send.complained_at),
            ("unsubscribed", send.unsubscribed_at),
        )
        if value
    ]
    detail = "; ".join(r for r in [*reasons, ", ".join(outcomes)] if r)
    if send.subject:
        detail = f"“{send.subject}” {_recipient(send)}" + (f"; {detail}" if detail else "")
    flagged = send.status in (Send.Status.SKIPPED, Send.Status.FAILED, Send.Status.UNCONFIRMED)
    return Entry(
        at=send.sent_at or send.due_at,
        kind="send",
        title=title,
        detail=detail,
        flagged=flagged or bool(send.bounced_at or send.complained_at),
    )


CHANNEL_NAMES = {Channel.SLACK: "Slack", Channel.TEAMS: "Teams", Channel.SMS: "SMS"}


def _recipient(send: Send) -> str:
    """Where the message went: the address, and the channel when it was not an email."""
    if send.channel == Channel.EMAIL:
        return f"to {send.to_email}"
    where = f" to {send.to_address}" if send.to_address else ""
    return f"by {CHANNEL_NAMES.get(Channel(send.channel), send.channel)}{where}"


def _enrollment_entries(enrollments: list[Enrollment]) -> list[Entry]:
    entries = []
    for e in enrollments:
        arm = "holdout (gets nothing, for comparison)" if e.is_holdout else "treated"
        entries.append(Entry(e.enrolled_at, "enrollment", f"Enrolled in {e.campaign.name}", arm))
        if e.ended_at:
            entries.append(
                Entry(
                    e.ended_at,
                    "enrollment",
                    f"Left {e.campaign.name}: {e.get_status_display().lower()}",
                    e.exit_reason,
                )
            )
    return entries


def _event_entries(events: list[EspEvent]) -> list[Entry]:
    return [
        Entry(
            e.occurred_at,
            "esp",
            f"{e.esp}: {e.event_type}" + (" (machine)" if e.is_machine else ""),
            e.outcome or "not applied yet",
            flagged=bool(e.classification) or e.is_machine,
        )
        for e in events
    ]


def _suppression_entries(rows: list[SuppressedAddress]) -> list[Entry]:
    entries = []
    for row in rows:
        detail = f"{row.status_code} {row.detail}".strip()
        entries.append(
            Entry(
                row.suppressed_at,
                "suppression",
                f"Address suppressed: {row.get_reason_display()}",
                detail,
                True,
            )
        )
        if row.lifted_at:
            who = row.lifted_by.get_username() if row.lifted_by else "staff"
            entries.append(
                Entry(row.lifted_at, "suppression", f"Suppression lifted by {who}", row.lift_reason)
            )
    return entries


def _preference_entries(rows: QuerySet[PreferenceChange]) -> list[Entry]:
    """Each choice the person made (preference centre, unsubscribe link), with its source."""
    return [
        Entry(
            row.at,
            "preference",
            f"{row.get_change_display()}" + (f": {row.detail}" if row.detail else ""),
            f"from the {row.get_source_display().lower()}",
            flagged=row.change != PreferenceChange.Change.RESUMED
            and row.change != PreferenceChange.Change.MANAGER_RESUMED,
        )
        for row in rows
    ]


def _award_entries(awards: list[Award]) -> list[Entry]:
    entries = []
    for award in awards:
        step = award.send.step.name if award.send.step else "an email"
        parts = [f"promised by “{step}”"]
        if award.code:
            parts.append(f"code {award.code}")
        elif award.kind == Incentive.Kind.DISCOUNT_CODE:
            parts.append("waiting for a code: the pool is empty")
        elif award.value:
            parts.append(award.value)
        if award.expires_at:
            parts.append(f"expires {award.expires_at:%Y-%m-%d}")
        push = getattr(award, "push", None)
        if push is not None:
            parts.append(f"LMS: {push.get_status_display().lower()}")
        flagged = push is not None and push.status == AwardPush.Status.FAILED
        entries.append(
            Entry(award.awarded_at, "award", f"Awarded: {award.title}", "; ".join(parts), flagged)
        )
    return entries


def _events_for(address: str, sends: list[Send]) -> list[EspEvent]:
    return list(
        EspEvent.objects.filter(Q(recipient=address) | Q(send__in=[s.pk for s in sends])).order_by(
            "-occurred_at"
        )[:500]
    )


def learner_timeline(*, learner: Learner) -> list[Entry]:
    """Everything that happened to ``learner``'s mail, newest first."""
    sends = list(
        Send.objects.filter(learner=learner, audience="learner").select_related("campaign", "step")
    )
    entries = _enrollment_entries(
        list(Enrollment.objects.filter(learner=learner).select_related("campaign"))
    )
    entries += [_send_entry(s) for s in sends]
    entries += _event_entries(_events_for(learner.email, sends))
    entries += [
        Entry(
            c.at,
            "click",
            "Clicked" + (" (automated, not counted)" if c.is_automated else ""),
            c.automated_reason or c.user_agent,
            flagged=c.is_automated,
        )
        for c in Click.objects.filter(send__learner=learner).order_by("-at")[:200]
    ]
    labels = dict(SurveyReason.objects.values_list("code", "label"))
    entries += [
        Entry(
            r.created_at,
            "survey",
            f"Answered “why did you stop?”: {labels.get(r.reason, r.reason)}",
            r.comment,
        )
        for r in SurveyResponse.objects.filter(learner=learner)
    ]
    entries += _preference_entries(PreferenceChange.objects.filter(learner=learner))
    entries += [
        Entry(a.occurred_at, "activity", f"LMS: {a.get_kind_display()}", str(a.course or ""))
        for a in ActivityEvent.objects.filter(learner=learner)
        .select_related("course")
        .order_by("-occurred_at")[:ACTIVITY_SHOWN]
    ]
    entries += _suppression_entries(
        list(SuppressedAddress.objects.filter(address=learner.email).select_related("lifted_by"))
    )
    entries += _award_entries(
        list(Award.objects.filter(learner=learner).select_related("send__step", "push"))
    )
    for label, value in (
        ("Unsubscribed", learner.unsubscribed_at),
        ("Sunset: no more campaigns", learner.sunset_at),
    ):
        if value:
            entries.append(Entry(value, "learner", label, flagged=True))
    return sorted(entries, key=lambda e: e.at, reverse=True)


def manager_timeline(*, manager: Manager) -> list[Entry]:
    """Everything that happened to the nudges and hand-offs sent to ``manager``."""
    sends = list(
        Send.objects.filter(manager=manager, audience="manager").select_related("campaign", "step")
    )
    entries = [_send_entry(s) for s in sends]
    entries += _event_entries(_events_for(manager.email, sends))
    entries += _suppression_entries(
        list(SuppressedAddress.objects.filter(address=manager.email).select_related("lifted_by"))
    )
    entries += _preference_entries(PreferenceChange.objects.filter(manager=manager))
    if manager.nudges_opted_out_at:
        entries.append(
            Entry(manager.nudges_opted_out_at, "manager", "Nudges stopped", flagged=True)
        )
    return sorted(entries, key=lambda e: e.at, reverse=True)
