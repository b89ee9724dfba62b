"""Claiming queued sends: lock them (``SKIP LOCKED``), re-check that the recipient may still
be mailed and may be mailed now, render them, and mark them ``sending`` a few at a time, each
time just before they are handed to the ESP."""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from anymail.message import AnymailMessage
from django.db import transaction
from django.db.models import Q, QuerySet

from campaigns.content import chat, emails, sms
from campaigns.delivery.outcomes import DeliveryResult, describe
from campaigns.engine import windows
from campaigns.models import (
    Audience,
    Campaign,
    Channel,
    Enrollment,
    ManagerDigest,
    Send,
    Step,
    Variant,
)
from campaigns.models.outbox import MANAGER_PAUSED_REASON, PAUSED_REASON
from learners.models import CourseProgress, Learner, Manager
from reengagement.rows import update_rows

logger = logging.getLogger(__name__)


def _skip_reason(send: Send, now: dt.datetime) -> str:
    """Why a claimed send must not go out after all ("" if it may)."""
    learner = send.learner
    if send.audience == Audience.LEARNER:
        if learner.unsubscribed_at:
            return "learner unsubscribed"
        if learner.suppressed_at and send.channel == Channel.EMAIL:
            return "address suppressed"
        if learner.reminders_paused_until and learner.reminders_paused_until > now:
            return PAUSED_REASON
    else:
        if send.manager is None:
            return "learner has no manager"
        if send.manager.nudges_opted_out_at:
            return "manager opted out"
        if send.manager.messages_paused_until and send.manager.messages_paused_until > now:
            return MANAGER_PAUSED_REASON
        if send.kind == Send.Kind.STEP and learner.unsubscribed_at:
            return "learner unsubscribed"
    if send.channel == Channel.EMAIL and not send.to_email:
        return "no address"
    enrollment = send.enrollment
    if send.kind != Send.Kind.WELCOME_BACK and (
        learner.last_active_at is not None and learner.last_active_at > enrollment.enrolled_at
    ):
        return "learner came back"
    if send.kind == Send.Kind.STEP and enrollment.status != Enrollment.Status.ACTIVE:
        return "enrollment ended"
    return ""


def _progress_for(sends: Iterable[Send]) -> dict[tuple[int, int], CourseProgress]:
    """The progress rows the emails talk about, in one query."""
    pairs = {(s.learner_id, s.enrollment.course_id) for s in sends if s.enrollment.course_id}
    if not pairs:
        return {}
    rows = CourseProgress.objects.filter(
        learner_id__in={learner for learner, _ in pairs},
        course_id__in={course for _, course in pairs},
    )
    return {(p.learner_id, p.course_id): p for p in rows if (p.learner_id, p.course_id) in pairs}


def _load(ids: Sequence[int]) -> list[Send]:
    """The claimed sends with everything their emails need, in a constant number of queries.

    Per-send rows (learner, manager, enrollment, course) are joined; the campaign, step and
    variant rows, shared by the whole batch, are loaded once each rather than on every row.
    """
    sends = list(
        Send.objects.filter(pk__in=ids)
        .select_related("learner__manager", "manager", "enrollment__course")
        .order_by("pk")
    )
    campaigns = Campaign.objects.select_related("welcome_back_incentive").in_bulk(
        {s.campaign_id for s in sends}
    )
    steps = Step.objects.select_related("incentive").in_bulk(
        {s.step_id for s in sends if s.step_id is not None}
    )
    variants = Variant.objects.in_bulk({s.variant_id for s in sends if s.variant_id is not None})
    for send in sends:
        send.campaign = campaigns[send.campaign_id]
        if send.step_id is not None:
            send.step = steps[send.step_id]
        if send.variant_id is not None:
            send.variant = variants[send.variant_id]
    return sends


def claimable(now: dt.datetime) -> QuerySet[Send]:
    # A send put back with a back-off (tried before, no enqueued_at) waits for its due time.
    # Any other queued send was released by a pass, which decided it was due at the pass's
    # "now": it is taken whatever the worker's clock says.
    return Send.objects.filter(
        Q(enqueued_at__isnull=False) | Q(attempts=0) | Q(due_at__lte=now),
        status=Send.Status.QUEUED,
        campaign__status=Campaign.Status.ACTIVE,
    )


# What delivery carries through mark, transmit and record: a send, or a weekly digest (its own
# outbox with the same lifecycle columns and status values).
Outbox = Send | ManagerDigest


@dataclass
class Claimed:
    """A send (or a weekly digest) this worker may hand over, with its message for its
    channel."""

    send: Outbox
    message: AnymailMessage | None = None
    slack: chat.SlackMessage | None = None
    teams: dict[str, Any] | None = None
    sms: str = ""
    # Set by a channel whose provider said "not before" (Slack's Retry-After): the retry
    # waits that long instead of the usual back-off.
    retry_after: dt.timedelta | None = None

    @property
    def step_send(self) -> Send:
        """The send, where only a send can be: a digest goes by email or Slack, never by
        Teams or text message."""
        assert isinstance(self.send, Send)
        return self.send


def textable(person: Learner | Manager | None) -> bool:
    """Whether ``person`` may get a text message now: a number, SMS consent and no opt-out
    since (the rule the pass applies in SQL when it picks a send's channel)."""
    return bool(
        person is not None
        and person.phone
        and person.sms_consent_at
        and not person.sms_opted_out_at
    )


def _fallback_reason(send: Send) -> str:
    """Why a send on another channel must go by email after all ("" if it need not): the
    recipient (the learner, or the manager of a nudge) withdrew SMS consent or opted out since
    the pass created it."""
    if send.channel != Channel.SMS:
        return ""
    recipient = send.manager if send.audience == Audience.MANAGER else send.learner
    return "" if textable(recipient) else "no SMS consent any more"


def build(send: Send, rendered: emails.RenderedEmail) -> Claimed:
    """The message of ``send`` on its channel, from its rendered copy."""
    if send.channel == Channel.SLACK:
        return Claimed(send, slack=chat.slack_message(rendered))
    if send.channel == Channel.TEAMS:
        return Claimed(send, teams=chat.teams_payload(rendered))
    if send.channel == Channel.SMS:
        assert send.step is not None
        if send.audience == Audience.MANAGER and send.manager is not None:
            # The number on file now: a recipient who changed it since the pass gets it there.
            send.to_address = send.manager.phone
            text = sms.render_sms(
                source=send.step.manager_sms_body,
                first_name=send.learner.first_name,
                manager_first_name=send.manager.name.split(" ")[0],
                send_id=send.pk,
            )
        else:
            send.to_address = send.learner.phone
            text = sms.render_sms(
                source=send.step.sms_body, first_name=send.learner.first_name, send_id=send.pk
            )
        return Claimed(send, sms=text)
    return Claimed(send, message=rendered.as_message())


# Header values Django refuses to put in a message (it raises BadHeaderError at send time).
_HEADER_BREAKS = ("\r", "\n")


def header_problem(message: AnymailMessage) -> str:
    """Why ``message`` cannot be built ("" if it can): a header value with a line break."""
    values = {
        "Subject": message.subject,
        "From": message.from_email,
        "To": ", ".join(message.to),
        "Reply-To": ", ".join(message.reply_to),
        **{name: str(value) for name, value in message.extra_headers.items()},
    }
    for name, value in values.items():
        if any(mark in value for mark in _HEADER_BREAKS):
            return f"could not be built: the {name} header contains a line break"
    return ""


class _Windows:
    """Whether a campaign may mail a time zone at ``now``, decided once per pair."""

    def __init__(self, now: dt.datetime) -> None:
        self.now = now
        self.decisions: dict[tuple[int, str], windows.Decision] = {}

    def decide(self, send: Send) -> windows.Decision:
        key = (send.campaign_id, send.learner.time_zone)
        if key not in self.decisions:
            campaign = send.campaign
            window = windows.window_for(
                quiet_start=campaign.quiet_hours_start,
                quiet_end=campaign.quiet_hours_end,
                weekdays=campaign.weekday_list,
            )
            self.decisions[key] = windows.decide(
                now=self.now, time_zone=send.learner.time_zone, window=window
            )
        return self.decisions[key]


@dataclass
class _Sorted:
    """A claimed batch sorted by what must happen to each send."""

    ready: list[Claimed] = field(default_factory=list)
    skips: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    failures: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    waits: list[tuple[Send, windows.Decision]] = field(default_factory=list)
    fallbacks: list[int] = field(default_factory=list)


def _sort(sends: list[Send], now: dt.datetime) -> _Sorted:
    """Re-check each send, then render it: skip, fail, wait for its window, or ready."""
    progress = _progress_for(sends)
    allowed = _Windows(now)
    out = _Sorted()
    for send in sends:
        reason = _skip_reason(send, now)
        if reason:
            out.skips[reason].append(send.pk)
            continue
        decision = allowed.decide(send)
        if not decision.allowed:
            # A retry after a back-off or a backlog delivered late: never at 02:00.
            out.waits.append((send, decision))
            continue
        if _fallback_reason(send):
            out.fallbacks.append(send.pk)
            continue
        try:
            rendered = emails.render_send(
                send,
                progress=progress.get((send.learner_id, send.enrollment.course_id or 0)),
                now=now,
            )
            claimed = build(send, rendered)
        except Exception as exc:  # a template that slipped past validation fails one send
            logger.exception("send %s could not be rendered", send.pk)
            out.failures[f"could not be rendered: {describe(exc)}"].append(send.pk)
            continue
        problem = header_problem(claimed.message) if claimed.message is not None else ""
        if problem:
            out.failures[problem].append(send.pk)
            continue
        send.subject = rendered.subject[:300]
        send.destination_url = rendered.destination_url[:2000]
        if send.channel == Channel.EMAIL:
            send.message_id = rendered.headers.get("Message-ID", "")[:300]
        out.ready.append(claimed)
    return out


def to_email(send_ids: Sequence[int], *, now: dt.datetime, reason: str) -> int:
    """Send these queued sends by email instead (their recipient turned out to have no
    address on their channel): queued again at once, without an attempt counted, for the
    next delivery to take."""
    return Send.objects.filter(pk__in=list(send_ids), status=Send.Status.QUEUED).update(
        channel=Channel.EMAIL,
        to_address="",
        due_at=now,
        enqueued_at=None,
        postponed_reason=f"by email: {reason}",
    )


def claim(send_ids: Sequence[int], now: dt.datetime, result: DeliveryResult) -> list[Claimed]:
    """Lock the still-queued sends, re-check and render them; returns those ready to go.

    Skipped, failed (cannot be built) and postponed (outside the recipient's window) sends
    are written here. The ready ones stay ``queued``: :func:`mark_sending` takes them a few
    at a time just before they are handed to the ESP, so that a worker that dies mid-batch
    leaves the untried rest queued for the next worker, not "unconfirmed".
    """
    with transaction.atomic():
        ids = list(
            claimable(now)
            .filter(pk__in=list(send_ids))
            .select_for_update(skip_locked=True, of=("self",))
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        if not ids:
            return []
        sends = _load(ids)
        result.claimed += len(sends)
        sorted_ = _sort(sends, now)
        for reason, pks in sorted_.skips.items():
            result.skipped += Send.objects.filter(pk__in=pks).update(
                status=Send.Status.SKIPPED, skip_reason=reason
            )
        for reason, pks in sorted_.failures.items():
            result.failed += Send.objects.filter(pk__in=pks).update(
                status=Send.Status.FAILED, last_error=reason
            )
        result.fallbacks += to_email(sorted_.fallbacks, now=now, reason="no SMS consent any more")
        for send, decision in sorted_.waits:
            result.postponed += Send.objects.filter(pk=send.pk, status=Send.Status.QUEUED).update(
                status=Send.Status.SCHEDULED,
                due_at=decision.next_allowed,
                postponed_reason=decision.reason,
                enqueued_at=None,
            )
    return sorted_.ready


MARKED_FIELDS = ["status", "claimed_at", "attempts", "subject", "message_id"]


def mark_sending(claimed: Sequence[Claimed], now: dt.datetime) -> list[Claimed]:
    """Mark these sends (or digests, all of one kind) ``sending`` (compare-and-set on
    ``queued``) and return only those this worker now owns: a row another worker took
    meanwhile is not sent twice."""
    if not claimed:
        return []
    for item in claimed:
        item.send.status = Send.Status.SENDING
        item.send.claimed_at = now
        item.send.attempts += 1
    fields = MARKED_FIELDS
    if isinstance(claimed[0].send, Send):
        fields = [*MARKED_FIELDS, "destination_url"]
    else:
        # A Slack digest too large for one message goes by email (decided at claim).
        fields = [*MARKED_FIELDS, "channel", "to_address", "postponed_reason"]
    owned = update_rows(
        [item.send for item in claimed], fields, only_if_status=(Send.Status.QUEUED,)
    )
    return [item for item in claimed if item.send.pk in owned]
