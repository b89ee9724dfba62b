"""Handing claimed messages to the email backend over one connection."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from django.core.mail.backends.base import BaseEmailBackend

from campaigns.delivery.claim import Claimed
from campaigns.delivery.outcomes import Outcome, classify, describe

logger = logging.getLogger(__name__)


# Stop hammering an ESP that keeps failing: after this many errors in a row the rest of the
# batch goes back to the queue untouched.
MAX_ERRORS_IN_A_ROW = 3
NOT_ATTEMPTED = "not attempted: the ESP kept failing"
NOT_ATTEMPTED_RATE_LIMITED = "not attempted: the provider asked to wait"


def esp_message_id(claimed: Claimed) -> str:
    """The ESP's id for the message, for its tracking events; our Message-ID when the backend
    (plain SMTP) has none."""
    status = getattr(claimed.message, "anymail_status", None)
    esp_id = getattr(status, "message_id", None) if status is not None else None
    if esp_id is None or isinstance(esp_id, set):
        return claimed.send.message_id
    return str(esp_id)[:300]


@dataclass
class ErrorStreak:
    """Errors in a row across the sub-batches of one delivery call, and a provider's "not
    before" (a rate limit's Retry-After), after which nothing more is tried in this call."""

    count: int = 0
    hold: dt.timedelta | None = None

    @property
    def gave_up(self) -> bool:
        return self.count >= MAX_ERRORS_IN_A_ROW or self.hold is not None


def not_attempted(
    rest: Sequence[Claimed], streak: ErrorStreak
) -> list[tuple[Claimed, Outcome, str]]:
    """Sends of a slice never handed over because ``streak`` gave up: queued again, no
    attempt counted; after a rate limit they wait as long as the provider asked."""
    outcomes = []
    for item in rest:
        item.send.attempts -= 1
        if streak.hold is not None:
            item.retry_after = streak.hold
            outcomes.append(
                (item, Outcome.TRANSIENT, f"{NOT_ATTEMPTED_RATE_LIMITED} {streak.hold}")
            )
        else:
            outcomes.append((item, Outcome.TRANSIENT, NOT_ATTEMPTED))
    return outcomes


def transmit(
    claimed: Sequence[Claimed], connection: BaseEmailBackend, streak: ErrorStreak
) -> list[tuple[Claimed, Outcome, str]]:
    """Send each message over the open connection; what happened to each. Once ``streak``
    gives up, the rest are not attempted (and say so)."""
    outcomes: list[tuple[Claimed, Outcome, str]] = []
    for index, item in enumerate(claimed):
        if streak.gave_up:
            # Never handed to the ESP: safe to queue again, and no attempt is counted.
            outcomes += not_attempted(claimed[index:], streak)
            break
        assert item.message is not None
        try:
            accepted = connection.send_messages([item.message])
        except Exception as exc:
            outcome = classify(exc)
            logger.warning("send %s: %s (%s)", item.send.pk, describe(exc), outcome.value)
            detail = describe(exc)
            if outcome is Outcome.UNBUILDABLE:
                detail = f"could not be built: {detail}"
            outcomes.append((item, outcome, detail))
            streak.count += outcome in (Outcome.TRANSIENT, Outcome.UNKNOWN)
            if outcome is Outcome.UNKNOWN:
                # The connection may be half-broken; the backend reconnects on the next call.
                connection.close()
            continue
        streak.count = 0
        if accepted:
            outcomes.append((item, Outcome.SENT, esp_message_id(item)))
        else:
            outcomes.append((item, Outcome.PERMANENT, "the email backend accepted no message"))
    return outcomes
