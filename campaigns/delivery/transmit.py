"""Handing claimed messages to the email backend over one connection."""

from __future__ import annotations

import logging

from django.core.mail.backends.base import BaseEmailBackend

from campaigns.delivery.claim import Claimed
from campaigns.delivery.outcomes import Outcome, classify, describe

logger = logging.getLogger(__name__)


# Stop hammering an ESP that keeps failing: after this many errors in a row the rest of the
# batch goes back to the queue untouched.
MAX_ERRORS_IN_A_ROW = 3


def esp_message_id(claimed: Claimed) -> str:
    """The ESP's id for the message, for its tracking events; our Message-ID when the backend
    (plain SMTP) has none."""
    status = getattr(claimed.message, "anymail_status", None)
    esp_id = getattr(status, "message_id", None) if status is not None else None
    if esp_id is None or isinstance(esp_id, set):
        return claimed.send.message_id
    return str(esp_id)[:300]


def transmit(
    claimed: list[Claimed], connection: BaseEmailBackend
) -> list[tuple[Claimed, Outcome, str]]:
    """Send each message over the open connection; what happened to each."""
    outcomes: list[tuple[Claimed, Outcome, str]] = []
    errors_in_a_row = 0
    for index, item in enumerate(claimed):
        if errors_in_a_row >= MAX_ERRORS_IN_A_ROW:
            # Never handed to the ESP: safe to queue again.
            note = "not attempted: the ESP kept failing"
            outcomes += [(rest, Outcome.TRANSIENT, note) for rest in claimed[index:]]
            break
        try:
            accepted = connection.send_messages([item.message])
        except Exception as exc:
            outcome = classify(exc)
            logger.warning("send %s: %s (%s)", item.send.pk, describe(exc), outcome.value)
            outcomes.append((item, outcome, describe(exc)))
            errors_in_a_row += outcome is not Outcome.PERMANENT
            if outcome is Outcome.UNKNOWN:
                # The connection may be half-broken; the backend reconnects on the next call.
                connection.close()
            continue
        errors_in_a_row = 0
        if accepted:
            outcomes.append((item, Outcome.SENT, esp_message_id(item)))
        else:
            outcomes.append((item, Outcome.PERMANENT, "the email backend accepted no message"))
    return outcomes
