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
import smtplib
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

from anymail.exceptions import (
    AnymailAPIError,
    AnymailError,
    AnymailInvalidAddress,
    AnymailRecipientsRefused,
)
from anymail.message import AnymailMessage
from django.conf import settings
from django.core.mail import get_connection
from django.core.mail.backends.base import BaseEmailBackend
from django.db import connection, transaction
from django.db.models import Field, Q, QuerySet

from campaigns.content import emails
from campaigns.models import Audience, Campaign, Enrollment, Send, Step, Variant
from learners.models import CourseProgress

logger = logging.getLogger(__name__)

# After this many attempts a temporarily refused send is failed for good.
MAX_ATTEMPTS = 8
BACKOFF_BASE = dt.timedelta(minutes=2)
BACKOFF_MAX = dt.timedelta(hours=6)
# Stop hammering an ESP that keeps failing: after this many errors in a row the rest of the
# batch goes back to the queue untouched.
MAX_ERRORS_IN_A_ROW = 3


class Outcome(Enum):
    SENT = "sent"
    # The ESP said "not now" (SMTP 4xx, HTTP 429/5xx, no connection): safe to try again.
    TRANSIENT = "transient"
    # The ESP said "never" (SMTP 5xx, HTTP 4xx, invalid address).
    PERMANENT = "permanent"
    # The call broke off mid-way: the ESP may have accepted it. Never resent blindly.
    UNKNOWN = "unknown"


@dataclass
class DeliveryResult:
    """What one delivery call did, in counts."""

    claimed: int = 0
    sent: int = 0
    skipped: int = 0
    failed: int = 0
    retried: int = 0
    unconfirmed: int = 0

    def add(self, other: DeliveryResult) -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))


def backoff(attempts: int) -> dt.timedelta:
    """How long a send waits after its ``attempts``-th temporary failure."""
    return min(BACKOFF_BASE * 2 ** max(attempts - 1, 0), BACKOFF_MAX)


def classify(exc: BaseException) -> Outcome:
    """Whether an error from the email backend means "retry", "give up" or "maybe sent"."""
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


def _describe(exc: BaseException) -> str:
    try:
        text = str(exc)
    except Exception:  # some ESP errors build their text from a response that may be missing
        text = repr(exc.args)
    return f"{type(exc).__name__}: {text}"[:1000]


def _skip_reason(send: Send) -> str:
    """Why a claimed send must not go out after all ("" if it may)."""
    learner = send.learner
    if send.audience == Audience.LEARNER:
        if learner.unsubscribed_at:
            return "learner unsubscribed"
        if learner.suppressed_at:
            return "address suppressed"
    else:
        if send.manager is None:
            return "learner has no manager"
        if send.manager.nudges_opted_out_at:
            return "manager opted out"
        if send.kind == Send.Kind.STEP and learner.unsubscribed_at:
            return "learner unsubscribed"
    if not send.to_email:
        return "no address"
    enrollment = send.enrollment
    if send.kind != Send.Kind.WELCOME_BACK and (
        learner.last_active_at is not None and learner.last_active_at > enrollment.enrolled_at
    ):
        return "learner came back"
    if send.kind == Send.Kind.STEP and enrollment.status != Enrollment.Status.ACTIVE:
        return "enrollment ended"
    return ""


def _progress_for(sends: Iterable[Send]) -> dict[tuple[int, int], CourseProgress]:
    """The progress rows the emails talk about, in one query."""
    pairs = {(s.learner_id, s.enrollment.course_id) for s in sends if s.enrollment.course_id}
    if not pairs:
        return {}
    rows = CourseProgress.objects.filter(
        learner_id__in={learner for learner, _ in pairs},
        course_id__in={course for _, course in pairs},
    )
    return {(p.learner_id, p.course_id): p for p in rows if (p.learner_id, p.course_id) in pairs}


def _load(ids: Sequence[int]) -> list[Send]:
    """The claimed sends with everything their emails need, in a constant number of queries.

    Per-send rows (learner, manager, enrollment, course) are joined; the campaign, step and
    variant rows, shared by the whole batch, are loaded once each rather than on every row.
    """
    sends = list(
        Send.objects.filter(pk__in=ids)
        .select_related("learner__manager", "manager", "enrollment__course")
        .order_by("pk")
    )
    campaigns = Campaign.objects.select_related("welcome_back_incentive").in_bulk(
        {s.campaign_id for s in sends}
    )
    steps = Step.objects.select_related("incentive").in_bulk(
        {s.step_id for s in sends if s.step_id is not None}
    )
    variants = Variant.objects.in_bulk({s.variant_id for s in sends if s.variant_id is not None})
    for send in sends:
        send.campaign = campaigns[send.campaign_id]
        if send.step_id is not None:
            send.step = steps[send.step_id]
        if send.variant_id is not None:
            send.variant = variants[send.variant_id]
    return sends


def _claimable(now: dt.datetime) -> QuerySet[Send]:
    # A send put back with a back-off (tried before, no enqueued_at) waits for its due time.
    # Any other queued send was released by a pass, which decided it was due at the pass's
    # "now": it is taken whatever the worker's clock says.
    return Send.objects.filter(
        Q(enqueued_at__isnull=False) | Q(attempts=0) | Q(due_at__lte=now),
        status=Send.Status.QUEUED,
        campaign__status=Campaign.Status.ACTIVE,
    )


@dataclass
class _Claimed:
    send: Send
    message: AnymailMessage


def _claim(send_ids: Sequence[int], now: dt.datetime, result: DeliveryResult) -> list[_Claimed]:
    """Lock, re-check, render and mark ``sending``; commits before returning."""
    with transaction.atomic():
        ids = list(
            _claimable(now)
            .filter(pk__in=list(send_ids))
            .select_for_update(skip_locked=True, of=("self",))
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        if not ids:
            return []
        sends = _load(ids)
        result.claimed += len(sends)
        skips: dict[str, list[int]] = defaultdict(list)
        failures: dict[str, list[int]] = defaultdict(list)
        progress = _progress_for(sends)
        claimed: list[_Claimed] = []
        for send in sends:
            reason = _skip_reason(send)
            if reason:
                skips[reason].append(send.pk)
                continue
            try:
                rendered = emails.render_send(
                    send,
                    progress=progress.get((send.learner_id, send.enrollment.course_id or 0)),
                    now=now,
                )
            except Exception as exc:  # a template that slipped past validation fails one send
                logger.exception("send %s could not be rendered", send.pk)
                failures[f"could not be rendered: {_describe(exc)}"].append(send.pk)
                continue
            send.status = Send.Status.SENDING
            send.claimed_at = now
            send.attempts += 1
            send.subject = rendered.subject[:300]
            send.destination_url = rendered.destination_url[:2000]
            send.message_id = rendered.headers.get("Message-ID", "")[:300]
            claimed.append(_Claimed(send, rendered.as_message()))
        for reason, pks in skips.items():
            result.skipped += Send.objects.filter(pk__in=pks).update(
                status=Send.Status.SKIPPED, skip_reason=reason
            )
        for reason, pks in failures.items():
            result.failed += Send.objects.filter(pk__in=pks).update(
                status=Send.Status.FAILED, last_error=reason
            )
        if claimed:
            _update_rows(
                [c.send for c in claimed],
                ["status", "claimed_at", "attempts", "subject", "destination_url", "message_id"],
                only_if_status=(Send.Status.QUEUED,),
            )
    return claimed


def _update_rows(
    sends: Sequence[Send], fields: Sequence[str], *, only_if_status: Sequence[str]
) -> int:
    """Write ``fields`` of each send in one statement, compare-and-set on its status.

    Django's ``bulk_update`` builds a CASE per field in Python, which cost more than sending
    the emails. PostgreSQL gets one ``UPDATE … FROM (VALUES …)``; SQLite one ``executemany``.
    """
    if not sends:
        return 0
    columns: list[Field[Any, Any]] = []
    for name in fields:
        column = Send._meta.get_field(name)
        assert isinstance(column, Field)
        columns.append(column)
    statuses = ", ".join("%s" for _ in only_if_status)
    values = [
        [column.get_db_prep_save(getattr(send, column.attname), connection) for column in columns]
        for send in sends
    ]
    table = Send._meta.db_table
    if connection.vendor == "postgresql":
        # One short statement for the whole batch, its rows passed as one array per column:
        # a VALUES list of a thousand placeholders cost more to build and parse than the update.
        arrays = ", ".join(f"CAST(%s AS {column.db_type(connection)}[])" for column in columns)
        names = ", ".join(["id", *(f"c{i}" for i in range(len(columns)))])
        assignments = ", ".join(f"{column.column} = v.c{i}" for i, column in enumerate(columns))
        sql = (
            f"UPDATE {table} SET {assignments} "  # noqa: S608 (names from the model only)
            f"FROM unnest(CAST(%s AS bigint[]), {arrays}) AS v({names}) "
            f"WHERE {table}.id = v.id AND {table}.status IN ({statuses})"
        )
        params: list[Any] = [[send.pk for send in sends]]
        params += [[row[i] for row in values] for i in range(len(columns))]
        with connection.cursor() as cursor:
            cursor.execute(sql, [*params, *only_if_status])
            return max(cursor.rowcount, 0)
    assignments = ", ".join(f"{column.column} = %s" for column in columns)
    sql = f"UPDATE {table} SET {assignments} WHERE id = %s AND status IN ({statuses})"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.executemany(
            sql, [[*v, send.pk, *only_if_status] for send, v in zip(sends, values, strict=True)]
        )
        return max(cursor.rowcount, 0)


def _esp_message_id(claimed: _Claimed) -> str:
    """The ESP's id for the message, for its tracking events; our Message-ID when the backend
    (plain SMTP) has none."""
    status = getattr(claimed.message, "anymail_status", None)
    esp_id = getattr(status, "message_id", None) if status is not None else None
    if esp_id is None or isinstance(esp_id, set):
        return claimed.send.message_id
    return str(esp_id)[:300]


def _transmit(
    claimed: list[_Claimed], connection: BaseEmailBackend
) -> list[tuple[_Claimed, Outcome, str]]:
    """Send each message over the open connection; what happened to each."""
    outcomes: list[tuple[_Claimed, Outcome, str]] = []
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
            logger.warning("send %s: %s (%s)", item.send.pk, _describe(exc), outcome.value)
            outcomes.append((item, outcome, _describe(exc)))
            errors_in_a_row += outcome is not Outcome.PERMANENT
            if outcome is Outcome.UNKNOWN:
                # The connection may be half-broken; the backend reconnects on the next call.
                connection.close()
            continue
        errors_in_a_row = 0
        if accepted:
            outcomes.append((item, Outcome.SENT, _esp_message_id(item)))
        else:
            outcomes.append((item, Outcome.PERMANENT, "the email backend accepted no message"))
    return outcomes


def _record(
    outcomes: list[tuple[_Claimed, Outcome, str]], now: dt.datetime, result: DeliveryResult
) -> None:
    """Store every outcome of a batch: a few statements, whatever the batch size."""
    sent, retry, give_up, unknown = [], [], [], []
    for item, outcome, detail in outcomes:
        send = item.send
        if outcome is Outcome.SENT:
            send.status, send.sent_at, send.esp_message_id = Send.Status.SENT, now, detail
            send.last_error = ""
            sent.append(send)
        elif outcome is Outcome.TRANSIENT and send.attempts < MAX_ATTEMPTS:
            send.status, send.due_at, send.enqueued_at = (
                Send.Status.QUEUED,
                now + backoff(send.attempts),
                None,
            )
            send.last_error = detail
            retry.append(send)
        elif outcome is Outcome.UNKNOWN:
            send.status, send.last_error = Send.Status.UNCONFIRMED, detail
            unknown.append(send)
        else:
            if outcome is Outcome.TRANSIENT:
                detail = f"gave up after {send.attempts} attempts: {detail}"
            send.status, send.last_error = Send.Status.FAILED, detail
            give_up.append(send)
    # Compare-and-set: only rows this batch still owns. A row that reconcile already called
    # unconfirmed may still become sent, since the ESP did take it.
    mine = (Send.Status.SENDING, Send.Status.UNCONFIRMED)
    with transaction.atomic():
        result.sent += _update_rows(
            sent, ["status", "sent_at", "esp_message_id", "last_error"], only_if_status=mine
        )
        result.retried += _update_rows(
            retry, ["status", "due_at", "enqueued_at", "last_error"], only_if_status=mine
        )
        result.failed += _update_rows(give_up, ["status", "last_error"], only_if_status=mine)
        result.unconfirmed += _update_rows(unknown, ["status", "last_error"], only_if_status=mine)


def deliver(*, send_ids: Sequence[int], now: dt.datetime) -> DeliveryResult:
    """Deliver those of ``send_ids`` that are still queued: claim, render, send over one
    backend connection, record. Rows another worker holds are left to it."""
    result = DeliveryResult()
    claimed = _claim(send_ids, now, result)
    if not claimed:
        return result
    connection = get_connection(fail_silently=False)
    try:
        connection.open()
    except Exception as exc:
        # Nothing reached the ESP: every message of the batch may be tried again later.
        logger.warning("email backend unavailable: %s", _describe(exc))
        _record([(c, Outcome.TRANSIENT, _describe(exc)) for c in claimed], now, result)
        return result
    try:
        outcomes = _transmit(claimed, connection)
    finally:
        connection.close()
    _record(outcomes, now, result)
    return result


def deliver_queued(*, now: dt.datetime, limit: int | None = None) -> DeliveryResult:
    """Deliver every queued send that is due (up to ``limit``), batch by batch, in this
    process: for ``run_pass --deliver`` and for operators without a worker."""
    result = DeliveryResult()
    size = max(int(settings.DELIVERY_BATCH_SIZE), 1)
    while limit is None or result.claimed < limit:
        take = size if limit is None else min(size, limit - result.claimed)
        ids = list(_claimable(now).order_by("due_at", "pk").values_list("pk", flat=True)[:take])
        if not ids:
            break
        batch = deliver(send_ids=ids, now=now)
        result.add(batch)
        if batch.claimed == 0:
            break  # everything left is held by other workers
    return result


def reconcile_stale(*, now: dt.datetime, older_than: dt.timedelta) -> int:
    """Mark sends left ``sending`` for longer than ``older_than`` as ``unconfirmed``: their
    worker died during the ESP call, so the message may or may not be out. They are not sent
    again; an ESP delivery event can still confirm them (:func:`confirm_sent`)."""
    return Send.objects.filter(status=Send.Status.SENDING, claimed_at__lt=now - older_than).update(
        status=Send.Status.UNCONFIRMED,
        last_error="the worker stopped during the ESP call; not resent automatically",
    )


def confirm_sent(*, send_ids: Sequence[int], now: dt.datetime, esp_message_id: str = "") -> int:
    """The ESP says these messages went out (a delivery event, its metadata ``send_id``):
    ``sending``/``unconfirmed`` rows become ``sent``."""
    updates: dict[str, object] = {"status": Send.Status.SENT, "sent_at": now, "last_error": ""}
    if esp_message_id:
        updates["esp_message_id"] = esp_message_id
    return Send.objects.filter(
        pk__in=list(send_ids), status__in=[Send.Status.SENDING, Send.Status.UNCONFIRMED]
    ).update(**updates)
