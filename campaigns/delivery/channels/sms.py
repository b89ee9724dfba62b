"""SMS through Twilio's official library: one Messages API call per text, with a status
callback that names the send (Twilio signs the whole URL, so the id in it is Twilio's word).

A refusal because the number opted out on Twilio's side (error 21610, STOP) is recorded as
the recipient's (learner's or manager's) SMS opt-out. A call that broke off mid-way may have
been accepted: it stays "unconfirmed" until its status callback confirms it, never resent
blindly.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
from collections.abc import Iterator, Sequence
from typing import Any

import requests
from django.conf import settings
from django.urls import reverse
from twilio.base.exceptions import TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from campaigns.content import links
from campaigns.delivery.channels import ChannelUnavailable, Outcomes, Transmit
from campaigns.delivery.claim import Claimed
from campaigns.delivery.outcomes import Outcome, describe
from campaigns.delivery.transmit import ErrorStreak, not_attempted
from campaigns.models import Audience, ManagerDigest, Send
from learners import contactability

logger = logging.getLogger(__name__)

# Twilio's "Attempt to send to unsubscribed recipient": the number replied STOP.
OPTED_OUT = 21610


def configured() -> bool:
    return bool(settings.TWILIO_ACCOUNT_SID and settings.TWILIO_AUTH_TOKEN and settings.TWILIO_FROM)


def client() -> Client:
    twilio = Client(
        settings.TWILIO_ACCOUNT_SID,
        settings.TWILIO_AUTH_TOKEN,
        http_client=TwilioHttpClient(timeout=settings.CHANNEL_HTTP_TIMEOUT),
    )
    # Every Messages API call goes through this domain: staging and tests point it at a fake.
    twilio.api.base_url = settings.TWILIO_API_BASE_URL
    return twilio


def status_callback_url(send_id: int) -> str:
    """Where Twilio reports this text's status; the send's id is part of the signed URL."""
    return links.absolute(reverse("campaigns:twilio_status")) + f"?send={int(send_id)}"


def _sender() -> dict[str, str]:
    sender = settings.TWILIO_FROM
    if sender.startswith("MG"):
        return {"messaging_service_sid": sender}
    return {"from_": sender}


def _classify(exc: BaseException) -> Outcome:
    if isinstance(exc, TwilioRestException):
        return Outcome.TRANSIENT if exc.status == 429 or exc.status >= 500 else Outcome.PERMANENT
    if isinstance(exc, requests.exceptions.ConnectTimeout | requests.exceptions.SSLError):
        return Outcome.TRANSIENT
    if isinstance(exc, requests.exceptions.ConnectionError) and not isinstance(
        exc, requests.exceptions.ReadTimeout
    ):
        # Refused or unreachable before the request was sent.
        return Outcome.TRANSIENT
    return Outcome.UNKNOWN


def _error_text(exc: BaseException) -> str:
    if isinstance(exc, TwilioRestException):
        return f"Twilio {exc.status} error {exc.code}: {exc.msg}"[:1000]
    return describe(exc)


def transmit(
    claimed: Sequence[Claimed], streak: ErrorStreak, twilio: Client, now: dt.datetime
) -> Outcomes:
    """Create one Twilio message per send; what happened to each."""
    outcomes: Outcomes = []
    opted_out: list[int] = []
    managers_opted_out: list[int] = []
    for index, item in enumerate(claimed):
        if streak.gave_up:
            outcomes += not_attempted(claimed[index:], streak)
            break
        send = item.send  # a send, or a weekly digest
        options: dict[str, Any] = {"to": send.to_address, "body": item.sms, **_sender()}
        if isinstance(send, Send):
            # Callbacks name a send; a digest's delivery is recorded from Twilio's answer.
            options["status_callback"] = status_callback_url(send.pk)
        try:
            message = twilio.messages.create(**options)
        except Exception as exc:
            outcome = _classify(exc)
            if isinstance(exc, TwilioRestException) and exc.code == OPTED_OUT:
                if isinstance(send, ManagerDigest) or send.audience == Audience.MANAGER:
                    if send.manager_id is not None:
                        managers_opted_out.append(send.manager_id)
                else:
                    opted_out.append(send.learner_id)
            logger.warning("send %s: %s (%s)", send.pk, _error_text(exc), outcome.value)
            outcomes.append((item, outcome, _error_text(exc)))
            streak.count += outcome in (Outcome.TRANSIENT, Outcome.UNKNOWN)
            continue
        streak.count = 0
        outcomes.append((item, Outcome.SENT, str(message.sid or "")))
    if opted_out:
        contactability.opt_out_sms(learner_ids=opted_out, now=now)
    if managers_opted_out:
        contactability.opt_out_manager_sms(manager_ids=managers_opted_out, now=now)
    return outcomes


@contextlib.contextmanager
def session(now: dt.datetime) -> Iterator[Transmit]:
    if not configured():
        raise ChannelUnavailable(
            "SMS is not configured: set TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and TWILIO_FROM"
        )
    twilio = client()

    def send(claimed: Sequence[Claimed], streak: ErrorStreak) -> Outcomes:
        return transmit(claimed, streak, twilio, now)

    yield send
