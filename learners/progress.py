"""Derived progress figures kept on the learner, so segments never aggregate progress rows."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import Count, FloatField, OuterRef, Q, Subquery
from django.db.models.functions import Cast

from learners.lookups import UPDATE_CHUNK, chunked
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
