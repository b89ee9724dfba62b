"""ESP tracking webhooks: anymail's own views parse and authenticate the post; this module stores
each event it signals, as it came, under a unique key, and hands the new ids to the apply task.

Nothing is applied here: the request answers 2xx as soon as the events are stored, so a slow
or failing handler never makes an ESP retry — or, like Brevo, drop — an event. The pass picks up
whatever was stored and not applied (a flushed broker or a dead worker loses nothing).

:class:`EspWebhookMiddleware`, on anymail's URLs only, stores all the events of one post in one
statement, answers 401/403 (instead of anymail's 400) when credentials are wrong or missing,
and refuses Amazon SNS messages from topics that are not on ``AMAZON_SES_SNS_TOPIC_ARNS``.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import hashlib
import json
import logging
from collections.abc import Callable, Sequence
from typing import Any

from anymail.exceptions import AnymailWebhookValidationFailure
from anymail.signals import AnymailTrackingEvent, EventType, tracking
from django.conf import settings
from django.db import connection, transaction
from django.dispatch import Signal, receiver
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from campaigns.feedback import bots
from campaigns.models import EspEvent
from learners.models import normalize_email
from reengagement.rows import insert_new

logger = logging.getLogger(__name__)

WEBHOOK_PREFIX = "/anymail/"
# Events stored by the current webhook request, written in one statement when it ends.
_pending: contextvars.ContextVar[list[EspEvent] | None] = contextvars.ContextVar(
    "esp_events_pending", default=None
)


def _json_safe(value: Any) -> Any:
    """The payload as JSON: ESP events are dicts and lists, Mailgun's legacy posts QueryDicts."""
    if hasattr(value, "lists") and callable(value.lists):
        value = {key: values if len(values) > 1 else values[0] for key, values in value.lists()}
    try:
        return json.loads(json.dumps(value, default=str))
    except (TypeError, ValueError):
        return {"unparsed": repr(value)[:10000]}


def _esp_event_id(esp: str, event: AnymailTrackingEvent, raw: Any) -> str:
    # Mailgun's event_id in anymail is the signature token, new on every post; the event's
    # own id is stable across retries.
    if esp == "Mailgun" and isinstance(raw, dict):
        data_id = (raw.get("event-data") or {}).get("id")
        if data_id:
            return str(data_id)
    return str(event.event_id or "")


def event_key(*, esp: str, event: AnymailTrackingEvent, raw: Any, recipient: str) -> str:
    """The unique key of an event: its type, the ESP's id and the recipient (an SES
    notification with three recipients is three events), or a hash of the payload where the
    ESP gives no id (Brevo, some Postmark and SparkPost events)."""
    esp_id = _esp_event_id(esp, event, raw)
    if esp_id:
        key = f"{event.event_type}:{esp_id}:{recipient}"
        if len(key) <= 255:
            return key
    payload = json.dumps(
        [event.event_type, recipient, event.message_id, esp_id, raw], sort_keys=True, default=str
    )
    return "sha256:" + hashlib.sha256(payload.encode()).hexdigest()


def _metadata_id(metadata: Any, name: str = "send_id") -> int | None:
    value = metadata.get(name) if isinstance(metadata, dict) else None
    try:
        number = int(str(value))
    except (TypeError, ValueError):
        return None
    return number if 0 < number < 2**63 else None


def _machine_open(esp: str, event: AnymailTrackingEvent, raw: Any) -> bool:
    """An open the ESP itself says a machine made (Apple Mail Privacy Protection and other
    pre-fetching proxies)."""
    if event.event_type != EventType.OPENED or not isinstance(raw, dict):
        return False
    if esp == "SendGrid":
        return bool(raw.get("sg_machine_open"))
    if esp == "Brevo":
        return "proxy" in str(raw.get("event") or "")
    if esp == "Mailgun":
        client = (raw.get("event-data") or {}).get("client-info") or {}
        return str(client.get("client-type") or "").lower() in {"robot", "bot"}
    return False


def build_event(*, event: AnymailTrackingEvent, esp_name: str, now: dt.datetime) -> EspEvent:
    """The row to store for one anymail tracking event (not saved)."""
    raw = _json_safe(event.esp_event)
    if raw is None:
        # SQLite's INSERT OR IGNORE would drop a row with a NULL in a NOT NULL column.
        raw = {}
    recipient = normalize_email(str(event.recipient or ""))[:254]
    user_agent = str(event.user_agent or "")[:500]
    machine = _machine_open(esp_name, event, raw)
    if event.event_type == EventType.CLICKED and bots.scanner_reason(user_agent):
        machine = True
    return EspEvent(
        esp=esp_name[:40],
        key=event_key(esp=esp_name, event=event, raw=raw, recipient=recipient),
        event_type=str(event.event_type)[:20],
        recipient=recipient,
        message_id=str(event.message_id or "")[:300],
        metadata_send_id=_metadata_id(event.metadata),
        metadata_digest_id=_metadata_id(event.metadata, "digest_id"),
        occurred_at=event.timestamp or now,
        received_at=now,
        reject_reason=str(event.reject_reason or "")[:20],
        description=str(event.description or ""),
        mta_response=str(event.mta_response or ""),
        user_agent=user_agent,
        click_url=str(event.click_url or "")[:2000],
        is_machine=machine,
        raw=raw,
    )


def store_events(rows: Sequence[EspEvent]) -> list[int]:
    """Insert ``rows``, skipping those already stored (replays); return the ids of the rows
    stored now, for the apply task (one stored before and not applied yet is the pass's)."""
    if not rows:
        return []
    if connection.vendor == "postgresql":
        return sorted(insert_new(EspEvent, rows, ["esp", "key"]))
    EspEvent.objects.bulk_create(rows, ignore_conflicts=True, batch_size=500)
    keys: dict[str, set[str]] = {}
    for row in rows:
        keys.setdefault(row.esp, set()).add(row.key)
    ids: list[int] = []
    for esp, esp_keys in keys.items():
        ids += EspEvent.objects.filter(
            esp=esp, key__in=list(esp_keys), applied_at__isnull=True
        ).values_list("pk", flat=True)
    return sorted(ids)


# Sent once the stored events are committed, with ``event_ids``: campaigns.tasks hands them to
# the apply task. Should nobody listen (or the broker be down), the pass applies them later.
events_stored = Signal()


def hand_to_apply(ids: list[int]) -> None:
    if ids:
        transaction.on_commit(
            lambda: events_stored.send(sender=EspEvent, event_ids=ids), robust=True
        )


@receiver(tracking, dispatch_uid="campaigns.feedback.esp_events.store")
def store_tracking_event(
    sender: object, event: AnymailTrackingEvent, esp_name: str, **kwargs: object
) -> None:
    """anymail's tracking signal: store the event (at the end of the post when the middleware
    is collecting them, at once otherwise)."""
    row = build_event(event=event, esp_name=esp_name, now=timezone.now())
    pending = _pending.get()
    if pending is not None:
        pending.append(row)
        return
    hand_to_apply(store_events([row]))


def _topic_refused(request: HttpRequest) -> bool:
    """An Amazon SNS post from a topic that is not on the allow-list (when one is set)."""
    allowed = settings.AMAZON_SES_SNS_TOPIC_ARNS
    if not allowed or not request.path_info.startswith(WEBHOOK_PREFIX + "amazon_ses/"):
        return False
    try:
        topic = json.loads(request.body.decode()).get("TopicArn")
    except (ValueError, UnicodeDecodeError, AttributeError):
        return False  # anymail answers a malformed body itself
    return topic not in allowed


def _refusal(request: HttpRequest, status: int, reason: str) -> HttpResponse:
    logger.warning("ESP webhook %s refused (%s): %s", request.path_info, status, reason)
    response = HttpResponse(reason, status=status, content_type="text/plain")
    if status == 401:
        response["WWW-Authenticate"] = 'Basic realm="ESP webhooks"'
    return response


class EspWebhookMiddleware:
    """See the module docstring. Acts on ``/anymail/…`` only."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.path_info.startswith(WEBHOOK_PREFIX) or request.method != "POST":
            return self.get_response(request)
        if _topic_refused(request):
            return _refusal(request, 403, "This Amazon SNS topic is not allowed.")
        token = _pending.set([])
        try:
            response = self.get_response(request)
            rows = _pending.get() or []
        finally:
            _pending.reset(token)
        if 200 <= response.status_code < 300 and rows:
            with transaction.atomic():
                hand_to_apply(store_events(rows))
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if request.path_info.startswith(WEBHOOK_PREFIX) and isinstance(
            exception, AnymailWebhookValidationFailure
        ):
            status = 403 if request.META.get("HTTP_AUTHORIZATION") else 401
            return _refusal(request, status, "Webhook credentials are missing or wrong.")
        return None
