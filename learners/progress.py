"""Derived progress figures kept on the learner, so segments never aggregate progress rows."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.db.models import Count, FloatField, OuterRef, Q, Subquery
from django.db.models.functions import Cast

from learners.lookups import LOOKUP_CHUNK, UPDATE_CHUNK, chunked
from learners.models import CourseProgress, Learner


def refresh_completion_rates(*, learner_ids: Iterable[int]) -> int:
    """Recompute ``completion_rate`` (percent of a learner's courses at 100%) for these learners.

    One UPDATE with a correlated subquery per chunk of learners; learners without progress rows
    get ``None`` (no courses is not the same as finishing none). Returns the rows updated.
    """
    rate = (
        CourseProgress.objects.filter(learner=OuterRef("pk"))
        .order_by()
        .values("learner")
        .annotate(
            rate=Cast(Count("pk", filter=Q(percent_complete__gte=100)), FloatField())
            * 100.0
            / Cast(Count("pk"), FloatField())
        )
        .values("rate")
    )
    updated = 0
    for chunk in chunked(sorted(set(learner_ids)), UPDATE_CHUNK):
        updated += Learner.objects.filter(pk__in=chunk).update(
            completion_rate=Subquery(rate, output_field=FloatField())
        )
    return updated


@dataclass(frozen=True)
class ProgressUpdate:
    """What an LMS said about a learner's place in a course at ``at``.

    ``percent`` is ``None`` and ``last_module`` empty when the statement did not say.
    """

    learner_id: int
    course_id: int
    at: dt.datetime
    percent: float | None = None
    last_module: str = ""


def _merge(current: CourseProgress, update: ProgressUpdate) -> bool:
    """Apply ``update`` to ``current`` unless a later figure is already there."""
    if update.at < current.updated_at:
        return False
    if update.percent is not None:
        current.percent_complete = max(0.0, min(100.0, update.percent))
    if update.last_module:
        current.last_module = update.last_module[:300]
    current.updated_at = update.at
    return True


def record_progress(*, updates: Sequence[ProgressUpdate]) -> int:
    """Write progress reported by the LMS, the latest report winning per learner and course.

    A report older than the stored figure changes nothing (statements arrive out of order);
    a course's first report creates its progress row. A few queries for any number of
    updates; completion rates of the learners whose percentages moved are refreshed. Returns
    how many progress rows were written.
    """
    if not updates:
        return 0
    pairs = {(u.learner_id, u.course_id) for u in updates}
    existing: dict[tuple[int, int], CourseProgress] = {}
    learner_ids = sorted({learner for learner, _ in pairs})
    for chunk in chunked(learner_ids, LOOKUP_CHUNK):
        rows = CourseProgress.objects.filter(
            learner_id__in=chunk, course_id__in={course for _, course in pairs}
        )
        for row in rows:
            if (row.learner_id, row.course_id) in pairs:
                existing[(row.learner_id, row.course_id)] = row
    created: dict[tuple[int, int], CourseProgress] = {}
    changed: dict[tuple[int, int], CourseProgress] = {}
    moved: set[int] = set()
    for update in sorted(updates, key=lambda u: u.at):
        key = (update.learner_id, update.course_id)
        found = existing.get(key) or created.get(key)
        if found is None:
            found = created[key] = CourseProgress(
                learner_id=update.learner_id, course_id=update.course_id, updated_at=update.at
            )
        if _merge(found, update):
            if key in existing:
                changed[key] = found
            if update.percent is not None:
                moved.add(update.learner_id)
    # ignore_conflicts: a concurrent batch may have created the row since the lookup; its
    # figure then stands until the next report.
    CourseProgress.objects.bulk_create(created.values(), batch_size=500, ignore_conflicts=True)
    CourseProgress.objects.bulk_update(
        changed.values(), ["percent_complete", "last_module", "updated_at"], batch_size=500
    )
    refresh_completion_rates(learner_ids=moved)
    return len(created) + len(changed)
