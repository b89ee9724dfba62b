"""Recording what happened to each message, and confirming or reconciling sends whose fate
was unknown."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from django.db import transaction
from django.db.models import F, Value
from django.db.models.functions import Coalesce

from campaigns.delivery.claim import Claimed, Outbox
from campaigns.delivery.outcomes import (
    MAX_ATTEMPTS,
    DeliveryResult,
    Outcome,
    backoff,
)
from campaigns.models import Channel, ManagerDigest, Send
from reengagement.rows import update_rows

# A send left "sending" this long belongs to a worker that died mid-call.
STALE_SENDING_AFTER = dt.timedelta(minutes=15)


def record(
    outcomes: list[tuple[Claimed, Outcome, str]], now: dt.datetime, result: DeliveryResult
) -> None:
    """Store every outcome of a batch: a few statements, whatever the batch size."""
    sent, retry, give_up, unknown, by_email, held = [], [], [], [], [], []
    for item, outcome, detail in outcomes:
        send = item.send
        if outcome is Outcome.FALLBACK:
            # Nothing was handed over: queued again on the email channel, no attempt counted.
            send.status, send.channel, send.to_address = Send.Status.QUEUED, Channel.EMAIL, ""
            send.due_at, send.enqueued_at, send.attempts = now, None, send.attempts - 1
            send.postponed_reason = f"by email: {detail}"[:200]
            by_email.append(send)
        elif outcome is Outcome.SENT:
            send.status, send.sent_at, send.esp_message_id = Send.Status.SENT, now, detail
            send.last_error = ""
            sent.append(send)
        elif outcome is Outcome.TRANSIENT and item.retry_after is not None:
            _hold(send, now=now, wait=item.retry_after, reason=detail)
            held.append(send)
        elif outcome is Outcome.TRANSIENT and send.attempts < MAX_ATTEMPTS:
            send.status, send.due_at, send.enqueued_at = (
                Send.Status.QUEUED,
                now + backoff(send.attempts),
                None,
            )
            send.last_error = detail
            retry.append(send)
        elif outcome is Outcome.UNKNOWN:
            send.status, send.last_error = Send.Status.UNCONFIRMED, detail
            unknown.append(send)
        else:
            if outcome is Outcome.TRANSIENT:
                detail = f"gave up after {send.attempts} attempts: {detail}"
            send.status, send.last_error = Send.Status.FAILED, detail
            give_up.append(send)
    # Compare-and-set: only rows this batch still owns. A row that reconcile already called
    # unconfirmed may still become sent, since the ESP did take it.
    mine = (Send.Status.SENDING, Send.Status.UNCONFIRMED)
    # No savepoint of its own: delivery records inside the transaction that marks the next slice.
    with transaction.atomic(savepoint=False):
        sent_fields = ["status", "sent_at", "esp_message_id", "last_error", "to_address"]
        result.sent += len(update_rows(sent, sent_fields, only_if_status=mine))
        result.retried += len(
            update_rows(
                retry,
                ["status", "due_at", "enqueued_at", "attempts", "last_error"],
                only_if_status=mine,
            )
        )
        result.failed += len(update_rows(give_up, ["status", "last_error"], only_if_status=mine))
        result.unconfirmed += len(
            update_rows(unknown, ["status", "last_error"], only_if_status=mine)
        )
        result.retried += len(update_rows(held, HELD_FIELDS, only_if_status=mine))
        result.fallbacks += len(
            update_rows(
                by_email,
                [
                    "status",
                    "channel",
                    "to_address",
                    "due_at",
                    "enqueued_at",
                    "attempts",
                    "postponed_reason",
                ],
                only_if_status=(Send.Status.SENDING,),
            )
        )


HELD_FIELDS = ["status", "due_at", "enqueued_at", "attempts", "last_error", "postponed_reason"]


def _hold(send: Outbox, *, now: dt.datetime, wait: dt.timedelta, reason: str) -> None:
    """The provider asked for time (a rate limit's Retry-After). A send is scheduled again for
    then, and a later pass releases it through the usual checks (quiet hours included) rather
    than a worker waiting or taking it again too early. A digest, which has no release step,
    stays queued and is not claimable before then (:func:`claimable_digests`)."""
    send.status = Send.Status.SCHEDULED if isinstance(send, Send) else Send.Status.QUEUED
    send.due_at, send.enqueued_at = now + wait, None
    send.last_error = reason
    send.postponed_reason = "the provider asked to wait (rate limit)"


def put_back(
    claimed: Sequence[Claimed],
    *,
    now: dt.datetime,
    reason: str,
    result: DeliveryResult,
    wait: dt.timedelta | None = None,
) -> None:
    """Return sends that were claimed but never marked ``sending`` (so never handed to the
    ESP) to the queue after a short back-off (or ``wait``), because the ESP cannot be
    reached now."""
    queued = (Send.Status.QUEUED,)
    if wait is not None:
        for item in claimed:
            _hold(item.send, now=now, wait=wait, reason=reason)
        result.retried += len(
            update_rows([c.send for c in claimed], HELD_FIELDS, only_if_status=queued)
        )
        return
    for item in claimed:
        send = item.send
        send.due_at, send.enqueued_at, send.last_error = now + backoff(1), None, reason
    fields = ["due_at", "enqueued_at", "last_error"]
    result.retried += len(update_rows([c.send for c in claimed], fields, only_if_status=queued))


def reconcile_stale(*, now: dt.datetime, older_than: dt.timedelta = STALE_SENDING_AFTER) -> int:
    """Mark sends left ``sending`` for longer than ``older_than`` as ``unconfirmed``: their
    worker died during the ESP call, so the message may or may not be out. They are not sent
    again; an ESP delivery event can still confirm them (:func:`confirm_sent`). Weekly
    digests left ``sending`` are reconciled the same way."""
    stale = 0
    for model in (Send, ManagerDigest):
        stale += model.objects.filter(
            status=Send.Status.SENDING, claimed_at__lt=now - older_than
        ).update(
            status=Send.Status.UNCONFIRMED,
            last_error="the worker stopped during the ESP call; not resent automatically",
        )
    return stale


def confirm_sent(*, send_ids: Sequence[int], now: dt.datetime, esp_message_id: str = "") -> int:
    """The ESP says these messages went out (a delivery event, its metadata ``send_id``):
    ``sending``/``unconfirmed`` rows become ``sent``."""
    updates: dict[str, object] = {"status": Send.Status.SENT, "sent_at": now, "last_error": ""}
    if esp_message_id:
        updates["esp_message_id"] = esp_message_id
    return Send.objects.filter(
        pk__in=list(send_ids), status__in=[Send.Status.SENDING, Send.Status.UNCONFIRMED]
    ).update(**updates)


def confirm_digests_sent(*, digest_ids: Sequence[int], now: dt.datetime) -> int:
    """The ESP says these weekly digests went out (an event with their metadata
    ``digest_id``): ``sending``/``unconfirmed`` ones become ``sent``, from when they were
    handed over."""
    return ManagerDigest.objects.filter(
        pk__in=list(digest_ids), status__in=[Send.Status.SENDING, Send.Status.UNCONFIRMED]
    ).update(
        status=Send.Status.SENT,
        sent_at=Coalesce(F("claimed_at"), Value(now)),
        last_error="confirmed sent by an ESP event",
    )


def mark_unconfirmed_sent(*, send_ids: Sequence[int], now: dt.datetime) -> int:
    """An operator found these unconfirmed messages in the ESP's log (by their Message-ID):
    they went out when they were handed over, so they count as sent from then."""
    return Send.objects.filter(pk__in=list(send_ids), status=Send.Status.UNCONFIRMED).update(
        status=Send.Status.SENT,
        sent_at=Coalesce(F("claimed_at"), Value(now)),
        last_error="confirmed sent by an operator",
    )


def release_unconfirmed(*, send_ids: Sequence[int], now: dt.datetime) -> int:
    """An operator checked the ESP and these unconfirmed messages never arrived: queue them
    again. They keep their Message-ID, so a copy the ESP did take after all is recognisable."""
    return Send.objects.filter(pk__in=list(send_ids), status=Send.Status.UNCONFIRMED).update(
        status=Send.Status.QUEUED,
        due_at=now,
        enqueued_at=None,
        last_error="released for resend by an operator",
    )
