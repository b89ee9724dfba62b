"""Store what an LMS sent, then apply it as activity and progress.

Every statement is stored (raw, under its id) whether or not it moves anything: one that names
an unknown learner or an unmapped verb is kept as *ignored* with the reason, so staff see it in
the admin and the LMS gets a success answer instead of retrying it forever. A few queries per
batch, however many statements it holds.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, transaction
from psycopg.types.json import Jsonb

from learners.activity import record_events
from learners.lookups import LOOKUP_CHUNK, chunked
from learners.models import ActivityEvent, Course, Learner, LmsSource, LmsStatement
from learners.progress import ProgressUpdate, record_progress

# Longest statement id kept as it is; longer ones are stored under their digest.
MAX_ID_LENGTH = 190


class StatementError(ValueError):
    """A statement that is not valid in its standard (the whole request is refused)."""

    noun = "Statement"

    def __init__(self, index: int, message: str) -> None:
        super().__init__(f"{self.noun} {index}: {message}")
        self.index = index


class EventError(StatementError):
    """An event (Caliper, Moodle) that is not valid in its standard."""

    noun = "Event"


def canonical_digest(value: Any) -> str:
    """SHA-256 of ``value`` as canonical JSON (sorted keys, no spaces)."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass
class Mapped:
    """One statement or event, read: who, what, when, in which course.

    ``kind`` is ``None`` when the statement says nothing this product uses; ``reason`` then
    says why it is ignored. Learners and courses are named by candidate ids, tried in order.
    """

    statement_id: str
    digest: str
    raw: Any
    occurred_at: dt.datetime
    verb: str = ""
    actor: str = ""
    learner_ids: tuple[str, ...] = ()
    learner_emails: tuple[str, ...] = ()
    kind: str | None = None
    reason: str = ""
    course_refs: tuple[str, ...] = ()
    module: str = ""
    percent: float | None = None


@dataclass
class StoreResult:
    """What a batch did. ``ids`` are the batch's statement ids in order (replays included)."""

    ids: list[str] = field(default_factory=list)
    stored: int = 0
    applied: int = 0
    ignored: int = 0
    duplicates: int = 0
    # Ids already stored with different content (xAPI answers 409; nothing was written).
    conflicts: list[str] = field(default_factory=list)


def _known_digests(standard: str, ids: Sequence[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    for chunk in chunked(sorted(set(ids)), LOOKUP_CHUNK):
        found.update(
            LmsStatement.objects.filter(standard=standard, statement_id__in=chunk).values_list(
                "statement_id", "digest"
            )
        )
    return found


def _learners(
    items: Sequence[Mapped],
) -> tuple[dict[str, tuple[int, str]], dict[str, tuple[int, str]]]:
    """Learners (pk, LMS id) by LMS id and by email, for every candidate in ``items``."""
    by_id: dict[str, tuple[int, str]] = {}
    wanted = sorted({ref for item in items for ref in item.learner_ids})
    for chunk in chunked(wanted, LOOKUP_CHUNK):
        for pk, external_id in Learner.objects.filter(external_id__in=chunk).values_list(
            "pk", "external_id"
        ):
            by_id[external_id] = (pk, external_id)
    emails = sorted({email.strip().lower() for item in items for email in item.learner_emails})
    by_email: dict[str, tuple[int, str]] = {}
    for chunk in chunked(emails, LOOKUP_CHUNK):
        for pk, external_id, email in Learner.objects.filter(email__in=chunk).values_list(
            "pk", "external_id", "email"
        ):
            by_email[email] = (pk, external_id)
    return by_id, by_email


def _courses(items: Sequence[Mapped]) -> dict[str, tuple[int, str]]:
    """Courses by LMS id or by URL, for every candidate in ``items``: two lookups."""
    wanted = sorted({ref for item in items for ref in item.course_refs})
    found: dict[str, tuple[int, str]] = {}
    for chunk in chunked(wanted, LOOKUP_CHUNK // 2):
        for pk, external_id in Course.objects.filter(external_id__in=chunk).values_list(
            "pk", "external_id"
        ):
            found[external_id] = (pk, external_id)
        for pk, external_id, url in Course.objects.filter(url__in=chunk).values_list(
            "pk", "external_id", "url"
        ):
            found.setdefault(url, (pk, external_id))
    return found


def _first(refs: Iterable[str], table: dict[str, Any]) -> Any:
    return next((table[ref] for ref in refs if ref in table), None)


def event_id_for(standard: str, statement_id: str) -> str:
    """The activity event id a statement is recorded under (unique across standards)."""
    return f"{standard}:{statement_id}"


def _fresh(items: Sequence[Mapped], known: dict[str, str], result: StoreResult) -> list[Mapped]:
    fresh: dict[str, Mapped] = {}
    for item in items:
        result.ids.append(item.statement_id)
        if item.statement_id in known or item.statement_id in fresh:
            result.duplicates += 1
        else:
            fresh[item.statement_id] = item
    return list(fresh.values())


def store_and_apply(
    *,
    source: LmsSource,
    standard: str,
    items: Sequence[Mapped],
    now: dt.datetime,
    refuse_conflicts: bool = False,
) -> StoreResult:
    """Store the statements not stored yet and record the activity of those that map.

    A statement whose id is already stored is a replay: it changes nothing. With
    ``refuse_conflicts`` (xAPI), a stored id with different content makes the whole batch a
    conflict and nothing is written.
    """
    result = StoreResult()
    known = _known_digests(standard, [item.statement_id for item in items])
    result.conflicts = [
        item.statement_id
        for item in items
        if item.statement_id in known and known[item.statement_id] != item.digest
    ]
    if refuse_conflicts and result.conflicts:
        return result
    fresh = _fresh(items, known, result)
    if not fresh:
        return result

    plan = _plan(source=source, standard=standard, items=fresh, now=now)
    _write(plan, now=now)
    rows = plan.rows
    result.stored = len(rows)
    result.applied = sum(1 for row in rows if row.status == LmsStatement.Status.APPLIED)
    result.ignored = result.stored - result.applied
    return result


def _progress_update(item: Mapped, learner_pk: int, course_pk: int | None) -> ProgressUpdate | None:
    if course_pk is None:
        return None
    if item.kind == ActivityEvent.Kind.COURSE_COMPLETED:
        return ProgressUpdate(
            learner_id=learner_pk, course_id=course_pk, at=item.occurred_at, percent=100.0
        )
    if item.kind == ActivityEvent.Kind.MODULE_COMPLETED and item.module:
        return ProgressUpdate(
            learner_id=learner_pk, course_id=course_pk, at=item.occurred_at, last_module=item.module
        )
    if item.percent is not None:
        return ProgressUpdate(
            learner_id=learner_pk, course_id=course_pk, at=item.occurred_at, percent=item.percent
        )
    return None


@dataclass
class _Plan:
    """What a batch will write: every statement's row, the events and progress it applies."""

    rows: list[LmsStatement] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    # (index of the event in ``events``, the progress that event reports)
    progress: list[tuple[int, ProgressUpdate]] = field(default_factory=list)


def _plan(*, source: LmsSource, standard: str, items: Sequence[Mapped], now: dt.datetime) -> _Plan:
    plan = _Plan()
    learners, by_email = _learners(items)
    courses = _courses(items)
    for item in items:
        learner = _first(item.learner_ids, learners) or _first(
            (email.strip().lower() for email in item.learner_emails), by_email
        )
        course = _first(item.course_refs, courses)
        row = LmsStatement(
            source=source,
            standard=standard,
            statement_id=item.statement_id,
            digest=item.digest,
            verb=item.verb[:300],
            actor=item.actor[:300],
            learner_id=learner[0] if learner else None,
            status=LmsStatement.Status.IGNORED,
            reason=item.reason,
            raw=item.raw,
            occurred_at=item.occurred_at,
            received_at=now,
        )
        plan.rows.append(row)
        if item.kind is None:
            continue
        if learner is None:
            row.reason = f"No learner matches the actor {item.actor or '(none)'}."
            continue
        row.status = LmsStatement.Status.APPLIED
        row.reason = "" if course or not item.course_refs else "Course not known: activity only."
        plan.events.append(
            {
                "event_id": event_id_for(standard, item.statement_id),
                "learner_id": learner[1],
                "course_id": course[1] if course else None,
                "kind": item.kind,
                "occurred_at": item.occurred_at.isoformat(),
            }
        )
        update = _progress_update(item, learner[0], course[0] if course else None)
        if update is not None:
            plan.progress.append((len(plan.events) - 1, update))
    return plan


def _write(plan: _Plan, *, now: dt.datetime) -> None:
    """Record the events, then store the statements (those the event path refused as
    ignored, with its message), then the progress, in one transaction."""
    applied = [row for row in plan.rows if row.status == LmsStatement.Status.APPLIED]
    with transaction.atomic():
        recorded = record_events(payload=plan.events, now=now)
        refused = {error.index: error for error in recorded.errors}
        for index, error in refused.items():
            applied[index].status = LmsStatement.Status.IGNORED
            messages = [m for ms in error.errors.values() for m in ms]
            applied[index].reason = " ".join(messages)[:300] or "Refused."
        _insert_statements(plan.rows)
        record_progress(updates=[u for index, u in plan.progress if index not in refused])


STATEMENT_COLUMNS = (
    "source_id",
    "standard",
    "statement_id",
    "digest",
    "verb",
    "actor",
    "learner_id",
    "status",
    "reason",
    "raw",
    "occurred_at",
    "received_at",
)


def _insert_statements(rows: Sequence[LmsStatement]) -> None:
    """Store the rows, skipping ids a concurrent request stored meanwhile.

    On PostgreSQL one INSERT with server-side parameters: Django's bulk_create spent as long
    building and quoting the statement (a hundred JSON documents) as PostgreSQL took to run it.
    """
    if connection.vendor != "postgresql" or not rows:
        LmsStatement.objects.bulk_create(rows, batch_size=500, ignore_conflicts=True)
        return
    placeholders = "(" + ", ".join(["%s"] * len(STATEMENT_COLUMNS)) + ")"
    values = [
        value
        for row in rows
        for value in (
            row.source_id, row.standard, row.statement_id, row.digest, row.verb, row.actor,
            row.learner_id, row.status, row.reason, Jsonb(row.raw), row.occurred_at,
            row.received_at,
        )
    ]  # fmt: skip
    connection.ensure_connection()
    with connection.connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {LmsStatement._meta.db_table} ({', '.join(STATEMENT_COLUMNS)})"  # noqa: S608
            f" VALUES {', '.join([placeholders] * len(rows))} ON CONFLICT DO NOTHING",
            values,
        )
