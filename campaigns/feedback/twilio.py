"""Twilio's webhooks: message status callbacks and inbound messages (STOP).

Both are signed: ``X-Twilio-Signature`` is checked with Twilio's own ``RequestValidator``
against the public URL Twilio called and the posted parameters; a missing or wrong signature
gets 403 and changes nothing. A callback is stored as an ESP event first (unique per message
and status, so a replay stores nothing new) and then applied: "delivered" through the same
apply as email events (delivered time, an unconfirmed send confirmed), "failed" and
"undelivered" fail the send with Twilio's error code. An inbound STOP (Twilio's
``OptOutType``, or a standard opt-out word) opts the number out of text messages, through
:mod:`learners.contactability`.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from anymail.signals import EventType
from django.conf import settings
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from twilio.request_validator import RequestValidator

from campaigns.content import links
from campaigns.feedback.esp_events import hand_to_apply, store_events
from campaigns.models import Channel, EspEvent, Send
from learners import contactability

logger = logging.getLogger(__name__)

ESP = "twilio"
# Twilio's message statuses as the apply step knows them (anymail's event types).
STATUS_EVENTS = {
    "accepted": EventType.QUEUED,
    "queued": EventType.QUEUED,
    "sending": EventType.SENT,
    "sent": EventType.SENT,
    "delivered": EventType.DELIVERED,
    "undelivered": EventType.FAILED,
    "failed": EventType.FAILED,
}
# The opt-out words carriers and Twilio honour (Twilio's default opt-out keywords).
STOP_WORDS = {
    "STOP",
    "STOPALL",
    "STOP ALL",
    "UNSUBSCRIBE",
    "CANCEL",
    "END",
    "QUIT",
    "OPTOUT",
    "REVOKE",
}
# The words that lift it again (Twilio's default opt-in keywords).
START_WORDS = {"START", "UNSTOP", "YES"}
# Twilio's error for a number that opted out on the carrier's or Twilio's side.
OPTED_OUT_ERRORS = {"21610"}
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


def signature_valid(request: HttpRequest) -> bool:
    """Whether Twilio signed this request (the URL it called, the form it posted)."""
    signature = request.headers.get("X-Twilio-Signature", "")
    if not signature or not settings.TWILIO_AUTH_TOKEN:
        return False
    url = links.absolute(request.get_full_path())
    params = {key: request.POST.get(key, "") for key in request.POST}
    return bool(RequestValidator(settings.TWILIO_AUTH_TOKEN).validate(url, params, signature))


def _send_id(request: HttpRequest) -> int | None:
    raw = request.GET.get("send", "")
    return int(raw) if raw.isdigit() else None


def status_event(*, params: dict[str, str], send_id: int | None, now: dt.datetime) -> EspEvent:
    """The row to store for one status callback (not saved)."""
    sid = params.get("MessageSid") or params.get("SmsSid", "")
    status = (params.get("MessageStatus") or params.get("SmsStatus", "")).lower()
    error = params.get("ErrorCode", "")
    return EspEvent(
        esp=ESP,
        key=f"{sid}:{status}"[:255],
        event_type=str(STATUS_EVENTS.get(status, EventType.UNKNOWN)),
        message_id=sid[:300],
        metadata_send_id=send_id,
        occurred_at=now,
        received_at=now,
        description=f"Twilio: {status}" + (f" (error {error})" if error else ""),
        raw={**params, "send": send_id},
    )


def fail_undelivered(event: EspEvent, *, now: dt.datetime) -> int:
    """A failed or undelivered text fails its send (compare-and-set: a send already failed,
    or one that is not a text message, is left alone); an opt-out error opts the number out."""
    if event.event_type != EventType.FAILED:
        return 0
    sends = Send.objects.filter(channel=Channel.SMS).exclude(status=Send.Status.FAILED)
    if event.metadata_send_id is not None:
        sends = sends.filter(pk=event.metadata_send_id)
    else:
        sends = sends.filter(esp_message_id=event.message_id).exclude(esp_message_id="")
    sends = sends.filter(
        status__in=[Send.Status.SENDING, Send.Status.UNCONFIRMED, Send.Status.SENT]
    )
    if event.raw.get("ErrorCode", "") in OPTED_OUT_ERRORS:
        contactability.opt_out_sms_numbers(phones=[str(event.raw.get("To", ""))], now=now)
    return sends.update(status=Send.Status.FAILED, last_error=event.description)


def _forbidden() -> HttpResponse:
    return HttpResponse("Twilio signature missing or wrong", status=403, content_type="text/plain")


@csrf_exempt
@require_POST
def status_callback(request: HttpRequest) -> HttpResponse:
    """Twilio reports a message's status (StatusCallback of each text)."""
    if not signature_valid(request):
        return _forbidden()
    now = timezone.now()
    params = {key: request.POST.get(key, "") for key in request.POST}
    event = status_event(params=params, send_id=_send_id(request), now=now)
    with transaction.atomic():
        ids = store_events([event])
        hand_to_apply(ids)
    if ids:
        try:
            with transaction.atomic():
                fail_undelivered(event, now=now)
        except Exception:  # the stored event stays for the apply step; Twilio must get its 200
            logger.exception("twilio status %s could not be applied", event.key)
    return HttpResponse(status=204)


def _words(params: dict[str, str]) -> str:
    return " ".join(params.get("Body", "").upper().split())


def is_opt_out(params: dict[str, str]) -> bool:
    if params.get("OptOutType", "").upper() == "STOP":
        return True
    return _words(params) in STOP_WORDS


def is_opt_in(params: dict[str, str]) -> bool:
    if params.get("OptOutType", "").upper() == "START":
        return True
    return _words(params) in START_WORDS


def _reply(params: dict[str, str]) -> tuple[str, str]:
    """What an answer is, and what it did: (description, outcome)."""
    if is_opt_out(params):
        return "opt-out", "opted out of text messages"
    if is_opt_in(params):
        return "opt-in", "text messages on again"
    return "reply", "ignored"


@csrf_exempt
@require_POST
def inbound(request: HttpRequest) -> HttpResponse:
    """A learner answered a text. STOP opts their number out of text messages at once, and
    START (after a STOP) lets them in again where they had given SMS consent; both are on the
    learner's timeline. Twilio itself sends the confirmation, so the answer is empty TwiML."""
    if not signature_valid(request):
        return _forbidden()
    now = timezone.now()
    params: dict[str, Any] = {key: request.POST.get(key, "") for key in request.POST}
    sid = str(params.get("MessageSid", ""))
    description, outcome = _reply(params)
    with transaction.atomic():
        store_events(
            [
                EspEvent(
                    esp=ESP,
                    key=f"inbound:{sid}"[:255],
                    event_type=str(EventType.INBOUND),
                    message_id=sid[:300],
                    occurred_at=now,
                    received_at=now,
                    description=description,
                    raw=params,
                    applied_at=now,
                    outcome=outcome,
                )
            ]
        )
        if description != "reply":  # a repeat changes nothing
            contactability.sms_by_reply(
                phone=str(params.get("From", "")), enabled=description == "opt-in", now=now
            )
    return HttpResponse(EMPTY_TWIML, content_type="text/xml")
