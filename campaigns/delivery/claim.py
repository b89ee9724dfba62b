"""Claiming queued sends: lock them (``SKIP LOCKED``), re-check that the recipient may still
be mailed, render, and mark them ``sending`` in a transaction that commits before the ESP is
called."""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from anymail.message import AnymailMessage
from django.db import transaction
from django.db.models import Q, QuerySet

from campaigns.content import emails
from campaigns.delivery.outcomes import DeliveryResult, describe
from campaigns.delivery.rows import update_rows
from campaigns.models import Audience, Campaign, Enrollment, Send, Step, Variant
from learners.models import CourseProgress

logger = logging.getLogger(__name__)


def _skip_reason(send: Send) -> str:
    """Why a claimed send must not go out after all ("" if it may)."""
    learner = send.learner
    if send.audience == Audience.LEARNER:
        if learner.unsubscribed_at:
            return "learner unsubscribed"
        if learner.suppressed_at:
            return "address suppressed"
    else:
        if send.manager is None:
            return "learner has no manager"
        if send.manager.nudges_opted_out_at:
            return "manager opted out"
        if send.kind == Send.Kind.STEP and learner.unsubscribed_at:
            return "learner unsubscribed"
    if not send.to_email:
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


@dataclass
class Claimed:
    send: Send
    message: AnymailMessage


def claim(send_ids: Sequence[int], now: dt.datetime, result: DeliveryResult) -> list[Claimed]:
    """Lock, re-check, render and mark ``sending``; commits before returning."""
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
        skips: dict[str, list[int]] = defaultdict(list)
        failures: dict[str, list[int]] = defaultdict(list)
        progress = _progress_for(sends)
        claimed: list[Claimed] = []
        for send in sends:
            reason = _skip_reason(send)
            if reason:
                skips[reason].append(send.pk)
                continue
            try:
                rendered = emails.render_send(
                    send,
                    progress=progress.get((send.learner_id, send.enrollment.course_id or 0)),
                    now=now,
                )
            except Exception as exc:  # a template that slipped past validation fails one send
                logger.exception("send %s could not be rendered", send.pk)
                failures[f"could not be rendered: {describe(exc)}"].append(send.pk)
                continue
            send.status = Send.Status.SENDING
            send.claimed_at = now
            send.attempts += 1
            send.subject = rendered.subject[:300]
            send.destination_url = rendered.destination_url[:2000]
            send.message_id = rendered.headers.get("Message-ID", "")[:300]
            claimed.append(Claimed(send, rendered.as_message()))
        for reason, pks in skips.items():
            result.skipped += Send.objects.filter(pk__in=pks).update(
                status=Send.Status.SKIPPED, skip_reason=reason
            )
        for reason, pks in failures.items():
            result.failed += Send.objects.filter(pk__in=pks).update(
                status=Send.Status.FAILED, last_error=reason
            )
        if claimed:
            update_rows(
                [c.send for c in claimed],
                ["status", "claimed_at", "attempts", "subject", "destination_url", "message_id"],
                only_if_status=(Send.Status.QUEUED,),
            )
    return claimed
