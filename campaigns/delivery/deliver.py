"""Delivery: claim queued sends, render them, hand them to the ESP, record what happened.

A batch moves through three short steps:

1. **Claim** (one transaction): lock the still-queued rows with ``SKIP LOCKED`` so that two
   workers never take the same send, skip those whose recipient can no longer be mailed or who
   came back, render the rest, and mark them ``sending`` with their subject, destination and
   Message-ID. The transaction commits *before* the ESP is called.
2. **Send**: one backend connection for the batch, one message per recipient.
3. **Record** (one transaction): ``sent`` with the ESP's message id, ``queued`` again with a
   back-off for a temporary refusal, ``failed`` for a permanent one, ``unconfirmed`` when the
   ESP may or may not have taken it.

A worker that dies between steps 2 and 3 leaves rows ``sending``; :func:`reconcile_stale`
turns them ``unconfirmed``. They are never sent again automatically: a duplicate email costs
more trust than a missing one, and an ESP event can still confirm them (:func:`confirm_sent`).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence

from django.conf import settings
from django.core.mail import get_connection

from campaigns.delivery.claim import claim, claimable
from campaigns.delivery.outcomes import DeliveryResult, Outcome, describe
from campaigns.delivery.record import record
from campaigns.delivery.transmit import transmit

logger = logging.getLogger(__name__)


def deliver(*, send_ids: Sequence[int], now: dt.datetime) -> DeliveryResult:
    """Deliver those of ``send_ids`` that are still queued: claim, render, send over one
    backend connection, record. Rows another worker holds are left to it."""
    result = DeliveryResult()
    claimed = claim(send_ids, now, result)
    if not claimed:
        return result
    connection = get_connection(fail_silently=False)
    try:
        connection.open()
    except Exception as exc:
        # Nothing reached the ESP: every message of the batch may be tried again later.
        logger.warning("email backend unavailable: %s", describe(exc))
        record([(c, Outcome.TRANSIENT, describe(exc)) for c in claimed], now, result)
        return result
    try:
        outcomes = transmit(claimed, connection)
    finally:
        connection.close()
    record(outcomes, now, result)
    return result


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
    return result
