"""Outcomes: which ESP errors mean retry, give up or maybe-sent, and the back-off."""

from __future__ import annotations

import datetime as dt
import smtplib

import pytest
from anymail.exceptions import AnymailAPIError

from campaigns.delivery.outcomes import BACKOFF_MAX, Outcome, backoff, classify

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("error", "outcome"),
    [
        (smtplib.SMTPDataError(451, b"greylisted"), Outcome.TRANSIENT),
        (smtplib.SMTPDataError(550, b"no such user"), Outcome.PERMANENT),
        (smtplib.SMTPRecipientsRefused({"a@example.com": (450, b"later")}), Outcome.TRANSIENT),
        (smtplib.SMTPRecipientsRefused({"a@example.com": (550, b"no")}), Outcome.PERMANENT),
        (smtplib.SMTPServerDisconnected("gone"), Outcome.UNKNOWN),
        (AnymailAPIError("rate", status_code=429), Outcome.TRANSIENT),
        (AnymailAPIError("bad", status_code=422), Outcome.PERMANENT),
        (AnymailAPIError("timeout"), Outcome.UNKNOWN),
        (ConnectionRefusedError(), Outcome.TRANSIENT),
    ],
)
def test_it_classifies_esp_errors(error: BaseException, outcome: Outcome) -> None:
    assert classify(error) is outcome


def test_back_off_doubles_and_is_capped() -> None:
    assert [backoff(n) for n in (1, 2, 3)] == [
        dt.timedelta(minutes=2),
        dt.timedelta(minutes=4),
        dt.timedelta(minutes=8),
    ]
    assert backoff(30) == BACKOFF_MAX
