"""Chunked look-ups by LMS id, shared by the imports, the activity API and the demo data.

Every query that names rows by a list of ids goes through :func:`chunked`, so that no IN list
outgrows a database's limit on query parameters whatever the size of the file or batch.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from django.db.models import QuerySet

from learners.models import Course, Learner

# Keeps each UPDATE's CASE and IN list to a size every database plans quickly.
UPDATE_CHUNK = 500
# Below SQLite's and PostgreSQL's limits on query parameters.
LOOKUP_CHUNK = 900


def chunked(values: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    """Slices of ``values`` of at most ``size`` items."""
    for start in range(0, len(values), size):
        yield values[start : start + size]


def ids_by_external_id(
    model: type[Learner] | type[Course], external_ids: Iterable[str]
) -> dict[str, int]:
    """Map LMS ids to primary keys for the ones that exist, a few queries for any number."""
    wanted = sorted(set(external_ids))
    found: dict[str, int] = {}
    for chunk in chunked(wanted, LOOKUP_CHUNK):
        found.update(model.objects.filter(external_id__in=chunk).values_list("external_id", "pk"))
    return found


def instances_by_external_id(
    queryset: QuerySet[Any], external_ids: Iterable[str]
) -> dict[str, Any]:
    """Map LMS ids to the instances of ``queryset`` that have them, a few queries for any number."""
    found: dict[str, Any] = {}
    for chunk in chunked(sorted(set(external_ids)), LOOKUP_CHUNK):
        found.update((obj.external_id, obj) for obj in queryset.filter(external_id__in=chunk))
    return found
