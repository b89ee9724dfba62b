"""Recording what learners did in the LMS, and keeping ``last_active_at`` right.

Events arrive late, twice and out of order (LMS retries, a CSV of last month sent after the API
already delivered today's). Two rules make that harmless: an event id is stored once, and
``last_active_at`` only ever moves forward.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, transaction
from django.db.models import Case, DateTimeField, Q, Value, When
from rest_framework import serializers

from learners.event_shape import MAX_CLOCK_SKEW, ActivityEventInSerializer
from learners.lookups import LOOKUP_CHUNK, UPDATE_CHUNK, chunked, ids_by_external_id
from learners.models import ActivityEvent, Course, Learner


@dataclass(frozen=True)
class EventError:
    """Why the event at ``index`` of a batch was refused."""

    index: int
    event_id: str | None
    errors: dict[str, list[str]]


@dataclass
class BatchResult:
    """What a batch of events did: stored, already known, refused."""

    accepted: int = 0
    duplicates: int = 0
    errors: list[EventError] = field(default_factory=list)
    #: Events that are not events at all (wrong shape or format), as opposed to well-formed
    #: events refused for what they say (an unknown learner, a time in the future).
    malformed: int = 0

    @property
    def nothing_readable(self) -> bool:
        """Every event of a non-empty batch was malformed: the request itself is wrong."""
        return (
            self.malformed > 0
            and not (self.accepted or self.duplicates)
            and (self.malformed == len(self.errors))
        )


def existing_event_ids(event_ids: Iterable[str]) -> set[str]:
    """The event ids among ``event_ids`` that are already stored."""
    wanted = sorted(set(event_ids))
    found: set[str] = set()
    for chunk in chunked(wanted, LOOKUP_CHUNK):
        found.update(
            ActivityEvent.objects.filter(external_id__in=chunk).values_list(
                "external_id", flat=True
            )
        )
    return found


def advance_last_active(*, latest: Mapping[int, dt.datetime]) -> int:
    """Move each learner's ``last_active_at`` forward to ``latest[learner_id]``, never backward.

    One UPDATE per chunk of learners; the WHERE clause compares against the stored value at
    write time, so two concurrent batches cannot move a learner back either. Returns how many
    learners moved.
    """
    if connection.vendor == "postgresql":
        return _advance_last_active_postgresql(latest)
    moved = 0
    for chunk in chunked(sorted(latest.items()), UPDATE_CHUNK):
        new_value = Case(
            *(When(pk=learner_id, then=Value(moment)) for learner_id, moment in chunk),
            output_field=DateTimeField(),
        )
        moved += (
            Learner.objects.filter(pk__in=[learner_id for learner_id, _ in chunk])
            .filter(Q(last_active_at__isnull=True) | Q(last_active_at__lt=new_value))
            .update(last_active_at=new_value)
        )
    return moved


def _advance_last_active_postgresql(latest: Mapping[int, dt.datetime]) -> int:
    """The same UPDATE with two array parameters instead of a CASE of two per learner:
    building and quoting that CASE took most of a batch's time."""
    if not latest:
        return 0
    ids, moments = zip(*sorted(latest.items()), strict=True)
    table = Learner._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} AS l SET last_active_at = v.at"  # noqa: S608
            " FROM unnest(%s::bigint[], %s::timestamptz[]) AS v(id, at)"
            " WHERE l.id = v.id AND (l.last_active_at IS NULL OR l.last_active_at < v.at)",
            [list(ids), list(moments)],
        )
        return int(cursor.rowcount)


def latest_by_learner(events: Iterable[ActivityEvent]) -> dict[int, dt.datetime]:
    """The most recent ``occurred_at`` per learner among ``events``."""
    latest: dict[int, dt.datetime] = {}
    for event in events:
        current = latest.get(event.learner_id)
        if current is None or event.occurred_at > current:
            latest[event.learner_id] = event.occurred_at
    return latest


def _event_id_of(item: object) -> str | None:
    if isinstance(item, dict):
        value = item.get("event_id")
        if isinstance(value, str | int):
            return str(value)
    return None


def _messages(exc: serializers.ValidationError) -> dict[str, list[str]]:
    """A validation error as messages by field name (what ``serializer.errors`` gives)."""
    detail = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
    return {
        name: [str(m) for m in (messages if isinstance(messages, list) else [messages])]
        for name, messages in detail.items()
    }


# Longer than most: one pass over the batch that checks each event against the learners,
# courses and ids loaded for the whole batch; each check names the field it refuses.
def record_events(*, payload: Sequence[object], now: dt.datetime) -> BatchResult:
    """Store a batch of LMS events and move the learners' ``last_active_at`` forward.

    Each event is checked on its own: a bad one is reported by its position and the valid ones
    are stored. An event whose id is already stored (or appeared earlier in the batch) is a
    duplicate: it changes nothing and is not an error, so an LMS can safely retry a batch.
    A handful of queries per batch, however many events it holds.
    """
    result = BatchResult()
    shaped: list[tuple[int, dict[str, Any]]] = []
    # One serializer validates every item, as a list serializer does: building one per item
    # (its fields deep-copied each time) cost more than the rest of the batch.
    serializer = ActivityEventInSerializer(context={"now": now})
    for index, item in enumerate(payload):
        try:
            shaped.append((index, serializer.run_validation(item)))
        except serializers.ValidationError as exc:
            result.malformed += 1
            result.errors.append(
                EventError(index=index, event_id=_event_id_of(item), errors=_messages(exc))
            )

    stored = existing_event_ids(data["event_id"] for _, data in shaped)
    learners = ids_by_external_id(Learner, (data["learner_id"] for _, data in shaped))
    courses = ids_by_external_id(
        Course, (data["course_id"] for _, data in shaped if data.get("course_id"))
    )

    new_events: list[ActivityEvent] = []
    for index, data in shaped:
        event_id = data["event_id"]
        if event_id in stored:
            result.duplicates += 1
            continue
        problems: dict[str, list[str]] = {}
        learner_pk = learners.get(data["learner_id"])
        if learner_pk is None:
            problems["learner_id"] = [f"No learner has the LMS id {data['learner_id']!r}."]
        course_ext = data.get("course_id") or None
        course_pk = courses.get(course_ext) if course_ext else None
        if course_ext and course_pk is None:
            problems["course_id"] = [f"No course has the LMS id {course_ext!r}."]
        if data["occurred_at"] > now + MAX_CLOCK_SKEW:
            problems["occurred_at"] = ["The timestamp is in the future."]
        if problems or learner_pk is None:
            result.errors.append(EventError(index=index, event_id=event_id, errors=problems))
            continue
        stored.add(event_id)
        new_events.append(
            ActivityEvent(
                external_id=event_id,
                learner_id=learner_pk,
                course_id=course_pk,
                kind=data["kind"],
                occurred_at=data["occurred_at"],
            )
        )

    with transaction.atomic():
        inserted = insert_new_events(events=new_events, now=now)
        stored_now = [event for event in new_events if event.external_id in inserted]
        advance_last_active(latest=latest_by_learner(stored_now))
    # A concurrent request carrying the same events may have stored some of them since the
    # check above: those are duplicates of this request, not events it stored.
    result.accepted = len(stored_now)
    result.duplicates += len(new_events) - len(stored_now)
    result.errors.sort(key=lambda error: error.index)
    return result


def insert_new_events(*, events: Sequence[ActivityEvent], now: dt.datetime) -> set[str]:
    """Insert ``events``, skipping any whose event id is already stored, and return the ids
    this call inserted. ``INSERT … ON CONFLICT DO NOTHING RETURNING`` tells exactly which rows
    were new even while another transaction inserts the same ids (``bulk_create`` with
    ``ignore_conflicts`` cannot say)."""
    meta = ActivityEvent._meta
    columns = ["external_id", "learner_id", "course_id", "kind", "occurred_at", "received_at"]
    occurred = meta.get_field("occurred_at")
    quote = connection.ops.quote_name
    inserted: set[str] = set()
    for chunk in chunked(events, UPDATE_CHUNK):
        values: list[Any] = []
        for event in chunk:
            values += [
                event.external_id,
                event.learner_id,
                event.course_id,
                event.kind,
                occurred.get_db_prep_value(event.occurred_at, connection),
                occurred.get_db_prep_value(now, connection),
            ]
        rows = ", ".join(["(" + ", ".join(["%s"] * len(columns)) + ")"] * len(chunk))
        table = quote(meta.db_table)
        names = ", ".join(quote(column) for column in columns)
        key = quote("external_id")
        # Only identifiers from the model's own metadata are formatted in; values are parameters.
        sql = f"INSERT INTO {table} ({names}) VALUES {rows} "  # noqa: S608
        sql += f"ON CONFLICT ({key}) DO NOTHING RETURNING {key}"
        with connection.cursor() as cursor:
            cursor.execute(sql, values)
            inserted.update(row[0] for row in cursor.fetchall())
    return inserted
