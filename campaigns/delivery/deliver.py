"""Delivery: claim queued sends, render them, hand them to the ESP, record what happened.

A batch moves through short steps:

1. **Claim** (one transaction): lock the still-queued rows with ``SKIP LOCKED``, skip those
   whose recipient can no longer be mailed or who came back, put back those outside the
   recipient's window (quiet hours, sending days), fail those that cannot be built, and
   render the rest. The transaction commits *before* the ESP is called.
2. Then, per channel (email, Slack, Teams, SMS: :mod:`campaigns.delivery.channels`), a few
   messages at a time (``DELIVERY_RECORD_EVERY``) over one provider session:
   **mark** them ``sending`` (compare-and-set on ``queued``: only rows this worker owns go
   out), **send** them, and **record** ``sent`` with the ESP's message id, ``queued`` again
   with a back-off for a temporary refusal, ``failed`` for a permanent one, ``unconfirmed``
   when the ESP may or may not have taken it.

A worker that dies mid-call leaves at most one slice ``sending``; :func:`reconcile_stale`
turns them ``unconfirmed`` and the rest of its batch is still queued for the next worker.
Unconfirmed sends are never sent again automatically (a duplicate email costs more trust than
a missing one): an ESP event confirms them (:func:`confirm_sent`), or an operator resolves
them (``manage.py resolve_unconfirmed``, or the admin's actions on sends).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager

from django.conf import settings
from django.db import transaction

from campaigns.delivery.channels import ChannelUnavailable, Transmit
from campaigns.delivery.channels import email as email_channel
from campaigns.delivery.channels import slack as slack_channel
from campaigns.delivery.channels import sms as sms_channel
from campaigns.delivery.channels import teams as teams_channel
from campaigns.delivery.claim import Claimed, claim, claimable, mark_sending
from campaigns.delivery.outcomes import DeliveryResult
from campaigns.delivery.record import put_back, record
from campaigns.delivery.transmit import NOT_ATTEMPTED, NOT_ATTEMPTED_RATE_LIMITED, ErrorStreak
from campaigns.models import Channel

logger = logging.getLogger(__name__)

SESSIONS: dict[str, Callable[[dt.datetime], AbstractContextManager[Transmit]]] = {
    Channel.EMAIL: lambda now: email_channel.session(),
    Channel.SLACK: slack_channel.session,
    Channel.TEAMS: teams_channel.session,
    Channel.SMS: sms_channel.session,
}


def deliver(*, send_ids: Sequence[int], now: dt.datetime) -> DeliveryResult:
    """Deliver those of ``send_ids`` that are still queued: claim and render them, then, per
    channel over one provider session, mark a few ``sending``, send them and record what
    happened, and again until the batch is done. Rows another worker holds are left to it."""
    result = DeliveryResult()
    claimed = claim(send_ids, now, result)
    if claimed:
        deliver_claimed(claimed, now=now, result=result)
    return result


def deliver_claimed(claimed: list[Claimed], *, now: dt.datetime, result: DeliveryResult) -> None:
    """Hand claimed messages (sends, or digests: one kind per call) to their providers, per
    channel over one session, a slice at a time: mark ``sending``, send, record. The weekly
    digest's delivery uses this too, so both have the same exactly-once steps."""
    by_channel: dict[str, list[Claimed]] = {}
    for item in claimed:
        by_channel.setdefault(item.send.channel, []).append(item)
    for channel, items in by_channel.items():
        try:
            with SESSIONS[channel](now) as send:
                _hand_over(items, send, now, result)
        except ChannelUnavailable as exc:
            # Nothing reached the provider: every message may be tried again later.
            logger.warning("%s unavailable: %s", channel, exc)
            put_back(items, now=now, reason=str(exc), result=result)


def _hand_over(
    claimed: list[Claimed], send: Transmit, now: dt.datetime, result: DeliveryResult
) -> None:
    # Outcomes are recorded every few messages, so a worker killed mid-batch leaves at most
    # that many "unconfirmed" (maybe sent); everything after them is still queued. Recording
    # one slice and marking the next share a commit: a commit per slice, not two.
    step = max(int(settings.DELIVERY_RECORD_EVERY), 1)
    slices = [claimed[start : start + step] for start in range(0, len(claimed), step)]
    streak = ErrorStreak()
    owned = mark_sending(slices[0], now)
    for index, _ in enumerate(slices):
        outcomes = send(owned, streak)
        following = slices[index + 1] if index + 1 < len(slices) else []
        with transaction.atomic():
            record(outcomes, now, result)
            if streak.gave_up:
                rest = [item for later in slices[index + 1 :] for item in later]
                reason = (
                    NOT_ATTEMPTED
                    if streak.hold is None
                    else f"{NOT_ATTEMPTED_RATE_LIMITED} {streak.hold}"
                )
                put_back(rest, now=now, reason=reason, result=result, wait=streak.hold)
                break
            owned = mark_sending(following, now) if following else []


def deliver_queued(*, now: dt.datetime, limit: int | None = None) -> DeliveryResult:
    """Deliver every queued send that is due (up to ``limit``), batch by batch, in this
    process: for ``run_pass --deliver`` and for operators without a worker."""
    result = DeliveryResult()
    size = max(int(settings.DELIVERY_BATCH_SIZE), 1)
    while limit is None or result.claimed < limit:
        take = size if limit is None else min(size, limit - result.claimed)
        ids = list(claimable(now).order_by("due_at", "pk").values_list("pk", flat=True)[:take])
        if not ids:
            break
        batch = deliver(send_ids=ids, now=now)
        result.add(batch)
        if batch.claimed == 0:
            break  # everything left is held by other workers
        if batch.claimed == batch.retried:
            break  # the providers refuse everything for now: the next pass tries again
    return result
