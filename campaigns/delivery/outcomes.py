"""What happened to a message at the ESP, and what follows: sent, retry after a back-off,
give up, or "maybe sent" (never resent blindly)."""

from __future__ import annotations

import datetime as dt
import smtplib
from dataclasses import dataclass
from enum import Enum

from anymail.exceptions import (
    AnymailAPIError,
    AnymailError,
    AnymailInvalidAddress,
    AnymailRecipientsRefused,
)
from django.core.mail import BadHeaderError

# After this many attempts a temporarily refused send is failed for good.
MAX_ATTEMPTS = 8
BACKOFF_BASE = dt.timedelta(minutes=2)
BACKOFF_MAX = dt.timedelta(hours=6)


class Outcome(Enum):
    SENT = "sent"
    # The ESP said "not now" (SMTP 4xx, HTTP 429/5xx, no connection): safe to try again.
    TRANSIENT = "transient"
    # The ESP said "never" (SMTP 5xx, HTTP 4xx, invalid address).
    PERMANENT = "permanent"
    # The call broke off mid-way: the ESP may have accepted it. Never resent blindly.
    UNKNOWN = "unknown"
    # The message could not be built (a header Django refuses): no ESP was called.
    UNBUILDABLE = "unbuildable"
    # The recipient has no address on this channel (Slack knows no such user): goes by email.
    FALLBACK = "fallback"


@dataclass
class DeliveryResult:
    """What one delivery call did, in counts."""

    claimed: int = 0
    sent: int = 0
    skipped: int = 0
    failed: int = 0
    retried: int = 0
    unconfirmed: int = 0
    # Outside the recipient's quiet hours or sending days at delivery time: rescheduled.
    postponed: int = 0
    # Meant for another channel, sent by email instead (queued again on the email channel).
    fallbacks: int = 0

    def add(self, other: DeliveryResult) -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))


def backoff(attempts: int) -> dt.timedelta:
    """How long a send waits after its ``attempts``-th temporary failure."""
    return min(BACKOFF_BASE * 2 ** max(attempts - 1, 0), BACKOFF_MAX)


def classify(exc: BaseException) -> Outcome:
    """Whether an error from the email backend means "retry", "give up" or "maybe sent"."""
    if isinstance(exc, BadHeaderError):
        # Raised while the backend builds the message, before anything is sent.
        return Outcome.UNBUILDABLE
    if isinstance(exc, AnymailRecipientsRefused | AnymailInvalidAddress):
        return Outcome.PERMANENT
    if isinstance(exc, AnymailAPIError):
        status = getattr(exc, "status_code", None)
        if status is None:
            return Outcome.UNKNOWN
        return Outcome.TRANSIENT if status == 429 or status >= 500 else Outcome.PERMANENT
    if isinstance(exc, AnymailError):
        return Outcome.PERMANENT
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _msg in exc.recipients.values()]
        return (
            Outcome.TRANSIENT
            if codes and all(400 <= c < 500 for c in codes)
            else (Outcome.PERMANENT)
        )
    if isinstance(exc, smtplib.SMTPResponseException):
        return Outcome.TRANSIENT if 400 <= exc.smtp_code < 500 else Outcome.PERMANENT
    if isinstance(exc, ConnectionRefusedError):
        return Outcome.TRANSIENT
    return Outcome.UNKNOWN


def describe(exc: BaseException) -> str:
    try:
        text = str(exc)
    except Exception:  # some ESP errors build their text from a response that may be missing
        text = repr(exc.args)
    return f"{type(exc).__name__}: {text}"[:1000]
