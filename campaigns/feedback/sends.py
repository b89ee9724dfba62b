"""ESP events and the sends they are about: which send an event concerns (our ``send_id`` in
the message's metadata, else the ESP's message id, else our Message-ID), and the times it
records on it — the earliest of each kind, whatever order the events arrive in."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from anymail.signals import EventType

from campaigns.feedback import bots
from campaigns.models import EspEvent, Send
from reengagement.rows import update_rows

Matched = Send

# The ESP had the message: a send left "sending" or "unconfirmed" went out after all.
CONFIRMING = {
    EventType.QUEUED,
    EventType.SENT,
    EventType.DELIVERED,
    EventType.DEFERRED,
    EventType.OPENED,
    EventType.CLICKED,
    EventType.BOUNCED,
    EventType.COMPLAINED,
    EventType.UNSUBSCRIBED,
}
TIME_FIELDS = {
    EventType.DELIVERED: "delivered_at",
    EventType.OPENED: "opened_at",
    EventType.CLICKED: "clicked_at",
    EventType.BOUNCED: "bounced_at",
    EventType.COMPLAINED: "complained_at",
    EventType.UNSUBSCRIBED: "unsubscribed_at",
}
UNCERTAIN = (Send.Status.SENDING, Send.Status.UNCONFIRMED)
LOADED = [
    "id",
    "status",
    "campaign",
    "learner",
    "manager",
    "audience",
    "esp_message_id",
    "message_id",
    "sent_at",
    *TIME_FIELDS.values(),
]


def match(events: Sequence[EspEvent]) -> dict[int, Send]:
    """The send of each event that has one, by event id; the sends are locked (in id order,
    so two workers never deadlock) until the caller's transaction ends."""
    send_ids = {e.metadata_send_id for e in events if e.metadata_send_id}
    message_ids = {e.message_id for e in events if e.message_id}
    by_esp: dict[str, int] = {}
    by_ours: dict[str, int] = {}
    if message_ids:
        # The "not empty" conditions repeat the partial indexes' own: PostgreSQL cannot infer
        # them from an IN list of more than 100 values, and would read the whole table.
        by_esp = dict(
            Send.objects.filter(esp_message_id__in=message_ids)
            .exclude(esp_message_id="")
            .values_list("esp_message_id", "pk")
        )
        by_ours = dict(
            Send.objects.filter(message_id__in=message_ids, status__in=UNCERTAIN)
            .exclude(message_id="")
            .values_list("message_id", "pk")
        )
    wanted = send_ids | set(by_esp.values()) | set(by_ours.values())
    if not wanted:
        return {}
    locked = {
        send.pk: send
        for send in Send.objects.filter(pk__in=wanted)
        .only(*LOADED)
        .select_for_update(of=("self",))
        .order_by("pk")
    }
    matched: dict[int, Send] = {}
    for event in events:
        send = locked.get(event.metadata_send_id or 0)
        if send is None and event.message_id:
            send = locked.get(by_esp.get(event.message_id, 0)) or locked.get(
                by_ours.get(event.message_id, 0)
            )
        if send is not None:
            matched[event.pk] = send
    return matched


def _counts(event: EspEvent, send: Send) -> bool:
    """Whether an open or click is engagement: not a machine's, not a scanner's click the
    moment the message went out (flagged on the event otherwise)."""
    if event.is_machine:
        return False
    if event.event_type == EventType.CLICKED:
        reason = bots.automated_click_reason(
            method="GET",
            user_agent=event.user_agent,
            at=event.occurred_at,
            delivered_at=send.sent_at,
        )
        if reason:
            event.is_machine = True
            return False
    return True


def record_times(
    events: Sequence[EspEvent], matched: dict[int, Send]
) -> dict[int, tuple[dt.datetime, str]]:
    """Write the earliest time of each kind of event on its send (one statement per kind of
    change); return the sends to confirm, with the earliest event time and the ESP's id."""
    confirm: dict[int, tuple[dt.datetime, str]] = {}
    changed: dict[int, Send] = {}
    names: set[str] = set()
    for event in events:
        send = matched.get(event.pk)
        if send is None:
            continue
        if event.event_type in CONFIRMING and send.status in UNCERTAIN:
            earlier = confirm.get(send.pk)
            esp_id = "" if send.esp_message_id else event.message_id
            if earlier is None or event.occurred_at < earlier[0]:
                confirm[send.pk] = (event.occurred_at, esp_id or (earlier[1] if earlier else ""))
        name = TIME_FIELDS.get(event.event_type)
        if name is None or not _counts(event, send):
            continue
        current = getattr(send, name)
        if current is None or event.occurred_at < current:
            setattr(send, name, event.occurred_at)
            changed[send.pk] = send
            names.add(name)
    if changed:
        update_rows(list(changed.values()), sorted(names))
    return confirm
