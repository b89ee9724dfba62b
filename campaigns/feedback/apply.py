"""Apply stored ESP events: to the send (first delivered/opened/clicked/bounced/complained/
unsubscribed time kept, never moved backwards, an unconfirmed send confirmed), to the address
(suppressed for a recipient's problem or a complaint, after repeats for soft bounces) and to
the campaign (an alert for a sender's problem, a pause when they repeat or rates go bad).

Idempotent and order-independent: an event is applied once (``applied_at``, rows claimed with
``SKIP LOCKED``), every time kept is the earliest seen, and a suppression rests on its earliest
event. A batch that fails is retried event by event; an event that keeps failing is kept with
its error for staff, never dropped.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass, fields

from anymail.signals import EventType, RejectReason
from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import F

from campaigns.delivery.record import confirm_digests_sent, confirm_sent
from campaigns.feedback import guardrails, sends, subscriptions
from campaigns.feedback import suppression as suppressing
from campaigns.feedback.bounces import classify_bounce, esp_opinion
from campaigns.models import Audience, BounceClass, Campaign, EspEvent, SuppressedAddress
from learners.models import Learner
from reengagement.rows import update_rows

logger = logging.getLogger(__name__)

BATCH_SIZE = 500
MAX_FAILED_ATTEMPTS = 5


@dataclass
class ApplyResult:
    """What applying a batch of events did, in counts."""

    applied: int = 0
    matched: int = 0
    confirmed: int = 0
    suppressed: int = 0
    alerts: int = 0
    paused: int = 0
    failed: int = 0

    def add(self, other: ApplyResult) -> None:
        for item in fields(self):
            setattr(self, item.name, getattr(self, item.name) + getattr(other, item.name))


def classify(event: EspEvent) -> tuple[str, str, str]:
    """(classification, SMTP status, response text) of a bounce, complaint or refusal;
    classification is "" for events that say nothing about deliverability."""
    kind = event.event_type
    if kind == EventType.COMPLAINED or (
        kind == EventType.REJECTED and event.reject_reason == RejectReason.SPAM
    ):
        return BounceClass.COMPLAINT, "", event.description
    if kind not in (EventType.BOUNCED, EventType.REJECTED, EventType.DEFERRED):
        return "", "", ""
    extra, label = esp_opinion(esp=event.esp, raw=event.raw, recipient=event.recipient)
    if kind == EventType.REJECTED:
        label = {RejectReason.BOUNCED: "hard", RejectReason.INVALID: "hard"}.get(
            event.reject_reason, "soft" if event.reject_reason == RejectReason.TIMED_OUT else ""
        )
    verdict = classify_bounce(
        text=f"{extra} {event.mta_response} {event.description}", esp_label=label
    )
    # Still being retried, or refused for a reason of the ESP's own: only a sender's problem
    # is worth acting on.
    undecided = kind == EventType.DEFERRED or (kind == EventType.REJECTED and not label)
    if undecided and verdict.kind != BounceClass.SENDER:
        return "", verdict.code, verdict.text
    return verdict.kind, verdict.code, verdict.text


def _soft_limit_reached(address: str, at: dt.datetime) -> dt.datetime | None:
    """The moment ``address`` reached SOFT_BOUNCE_LIMIT soft bounces within
    SOFT_BOUNCE_WINDOW_DAYS, in any window containing ``at`` (None if it did not)."""
    limit = max(int(settings.SOFT_BOUNCE_LIMIT), 1)
    window = dt.timedelta(days=int(settings.SOFT_BOUNCE_WINDOW_DAYS))
    times = sorted(
        EspEvent.objects.filter(
            recipient=address,
            classification=BounceClass.SOFT,
            occurred_at__gte=at - window,
            occurred_at__lte=at + window,
        ).values_list("occurred_at", flat=True)
    )
    for start in range(len(times) - limit + 1):
        if times[start + limit - 1] - times[start] <= window:
            return times[start + limit - 1]
    return None


def _suppressions(events: Sequence[EspEvent]) -> list[suppressing.Suppression]:
    entries: list[suppressing.Suppression] = []
    soft_checked: set[str] = set()
    for event in events:
        if not event.recipient:
            continue
        at_once: dict[str, str] = {
            BounceClass.RECIPIENT: SuppressedAddress.Reason.BOUNCE,
            BounceClass.COMPLAINT: SuppressedAddress.Reason.COMPLAINT,
        }
        reason = at_once.get(event.classification)
        if reason is not None:
            entries.append(
                suppressing.Suppression(
                    event.recipient,
                    event.occurred_at,
                    reason,
                    detail=event.outcome,
                    status_code=event.status_code,
                    event_id=event.pk,
                )
            )
        elif event.classification == BounceClass.SOFT and event.recipient not in soft_checked:
            soft_checked.add(event.recipient)
            reached = _soft_limit_reached(event.recipient, event.occurred_at)
            if reached is not None:
                detail = (
                    f"{settings.SOFT_BOUNCE_LIMIT} soft bounces within "
                    f"{settings.SOFT_BOUNCE_WINDOW_DAYS} days; last: {event.outcome}"
                )
                entries.append(
                    suppressing.Suppression(
                        event.recipient,
                        reached,
                        SuppressedAddress.Reason.SOFT_BOUNCES,
                        detail=detail,
                        status_code=event.status_code,
                        event_id=event.pk,
                    )
                )
    return entries


def _unsubscribe(events: Sequence[EspEvent], matched: dict[int, sends.Matched]) -> None:
    for event in events:
        if event.event_type != EventType.UNSUBSCRIBED:
            continue
        send = matched.get(event.pk)
        if send is not None and send.audience == Audience.MANAGER and send.manager_id:
            subscriptions.opt_out_manager(manager_id=send.manager_id, now=event.occurred_at)
            continue
        learner_id = send.learner_id if send is not None else None
        if learner_id is None:
            learner_id = (
                Learner.objects.filter(email=event.recipient).values_list("pk", flat=True).first()
            )
        if learner_id is not None:
            subscriptions.unsubscribe_learner(
                learner_id=learner_id,
                send_id=send.pk if send is not None else None,
                now=event.occurred_at,
            )


def _describe(event: EspEvent, send: sends.Matched | None, text: str) -> str:
    where = f"send {send.pk}" if send is not None else "no matching send"
    if send is None and event.metadata_digest_id:
        where = f"weekly digest {event.metadata_digest_id}"
    what = event.event_type
    if event.is_machine:
        what += " (machine, not counted)"
    if event.classification:
        what += f", {event.get_classification_display().lower()}"
        if event.status_code:
            what += f" {event.status_code}"
        if text:
            what += f": {text}"
    return f"{where}: {what}"[:300]


# The events whose raw payload the classifier reads (the ESP's own view of a bounce).
RAW_READ = (EventType.BOUNCED, EventType.REJECTED, EventType.DEFERRED)


def _load_raw(events: Sequence[EspEvent]) -> None:
    """Load the raw payload of the events that need it, in one query: decoding every
    delivery's and open's payload cost more than applying it."""
    wanted = {e.pk: e for e in events if e.event_type in RAW_READ}
    if not wanted:
        return
    for pk, raw in EspEvent.objects.filter(pk__in=list(wanted)).values_list("pk", "raw"):
        wanted[pk].raw = raw


def _apply_batch(event_ids: Sequence[int], now: dt.datetime, result: ApplyResult) -> None:
    events = list(
        EspEvent.objects.filter(pk__in=list(event_ids), applied_at__isnull=True)
        .defer("raw")
        .select_for_update(skip_locked=True)
        .order_by("pk")
    )
    if not events:
        return
    _load_raw(events)
    matched = sends.match(events)
    result.matched += len(matched)
    confirmed = sends.record_times(events, matched)
    for send_id, (at, esp_message_id) in sorted(confirmed.items()):
        result.confirmed += confirm_sent(send_ids=[send_id], now=at, esp_message_id=esp_message_id)
    digest_ids = {
        e.metadata_digest_id
        for e in events
        if e.metadata_digest_id and e.event_type in sends.CONFIRMING and e.pk not in matched
    }
    if digest_ids:
        result.confirmed += confirm_digests_sent(digest_ids=sorted(digest_ids), now=now)
    for event in events:
        send = matched.get(event.pk)
        event.classification, event.status_code, text = classify(event)
        event.status_code = event.status_code[:12]
        event.send_id = send.pk if send is not None else None
        event.campaign_id = send.campaign_id if send is not None else None
        event.applied_at = now
        event.outcome = _describe(event, send, text)
    update_rows(
        events,
        [
            "classification",
            "status_code",
            "send",
            "campaign",
            "applied_at",
            "outcome",
            "is_machine",
        ],
    )
    result.applied += len(events)
    result.suppressed += suppressing.suppress(_suppressions(events))
    _unsubscribe(events, matched)
    alerts, paused = guardrails.sender_problems(events=events, now=now)
    result.alerts += alerts
    result.paused += paused
    result.paused += _check_rates(events, now)


def _dirty_key(campaign_id: int) -> str:
    return f"guardrails:dirty:{campaign_id}"


def _check_rates(events: Sequence[EspEvent], now: dt.datetime) -> int:
    """Campaign rates, for the campaigns this batch brought complaints or hard bounces to.

    Each is recounted at most once per GUARDRAIL_CHECK_SECONDS (a count over a week of
    sends); one left out meanwhile is marked, and the next pass recounts it
    (:func:`check_marked_campaigns`), so a burst that ends inside the interval is judged too.
    """
    touched = {
        e.campaign_id
        for e in events
        if e.campaign_id and e.classification in (BounceClass.RECIPIENT, BounceClass.COMPLAINT)
    }
    due = []
    for campaign_id in sorted(touched):
        if cache.add(f"guardrails:{campaign_id}", 1, int(settings.GUARDRAIL_CHECK_SECONDS)):
            cache.delete(_dirty_key(campaign_id))
            due.append(campaign_id)
        else:
            cache.set(_dirty_key(campaign_id), 1, None)
    return guardrails.check_rates(campaign_ids=due, now=now) if due else 0


def check_marked_campaigns(*, now: dt.datetime) -> int:
    """Recount the active campaigns whose recount a worker put off; returns how many paused."""
    active = list(
        Campaign.objects.filter(status=Campaign.Status.ACTIVE).values_list("pk", flat=True)
    )
    marked = cache.get_many([_dirty_key(pk) for pk in active])
    due = [pk for pk in active if _dirty_key(pk) in marked]
    if not due:
        return 0
    cache.delete_many([_dirty_key(pk) for pk in due])
    return guardrails.check_rates(campaign_ids=due, now=now)


def _record_failure(event_id: int, exc: BaseException) -> None:
    """Keep the event, with its error, for staff; after MAX_FAILED_ATTEMPTS the pass stops
    retrying it."""
    logger.exception("ESP event %s could not be applied", event_id)
    EspEvent.objects.filter(pk=event_id).update(
        failed_attempts=F("failed_attempts") + 1,
        last_error=f"{type(exc).__name__}: {exc}"[:2000],
    )


def apply_events(*, event_ids: Sequence[int], now: dt.datetime) -> ApplyResult:
    """Apply those of ``event_ids`` not applied yet (rows another worker holds are left to
    it). A batch that fails is retried one event at a time, so one bad event stops nobody."""
    result = ApplyResult()
    try:
        with transaction.atomic():
            _apply_batch(event_ids, now, result)
    except Exception as exc:
        if len(event_ids) == 1:
            _record_failure(event_ids[0], exc)
            result.failed += 1
            return result
        result = ApplyResult()
        for event_id in event_ids:
            result.add(apply_events(event_ids=[event_id], now=now))
    return result


def apply_pending(*, now: dt.datetime, limit: int | None = None) -> ApplyResult:
    """Apply every stored event not applied yet (up to ``limit``), batch by batch, and suppress
    learners and managers re-created with a suppressed address: run at every pass, so a lost
    task or a dead worker only delays an event."""
    suppressing.reapply_suppressions(now=now)
    result = ApplyResult()
    last_id = 0
    while limit is None or result.applied + result.failed < limit:
        take = BATCH_SIZE if limit is None else min(BATCH_SIZE, limit - result.applied)
        ids = list(
            EspEvent.objects.filter(
                applied_at__isnull=True, failed_attempts__lt=MAX_FAILED_ATTEMPTS, pk__gt=last_id
            )
            .order_by("pk")
            .values_list("pk", flat=True)[:take]
        )
        if not ids:
            break
        last_id = ids[-1]
        result.add(apply_events(event_ids=ids, now=now))
    result.paused += check_marked_campaigns(now=now)
    return result
