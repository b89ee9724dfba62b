"""Whether a learner or a manager may be contacted: the one module that writes it.

Unsubscribing, suppression (hard bounce, complaint), sunset and a manager's opt-out of nudges
are written here and nowhere else, so their rules hold everywhere: the first moment is kept (a
repeat changes nothing), and none of them is ever cleared by an import or an API call. What a
campaign does about it (ending enrollments, skipping pending sends) is the caller's business.

Every function is set-based: it takes ids (a list or a queryset of ids) and returns how many
rows changed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.db.models import QuerySet

from learners.models import Learner, Manager

Ids = Iterable[int] | QuerySet[Any, Any]


def _ids(ids: Ids) -> Any:
    return ids if isinstance(ids, QuerySet) else list(ids)


def unsubscribe_learners(*, learner_ids: Ids, now: dt.datetime) -> int:
    """The learners asked for no more campaign email (GDPR art. 21: immediate)."""
    return Learner.objects.filter(pk__in=_ids(learner_ids), unsubscribed_at__isnull=True).update(
        unsubscribed_at=now
    )


def suppress_learners(
    *, learner_ids: Ids, reason: Learner.SuppressionReason, now: dt.datetime
) -> int:
    """The learners' addresses must not be mailed again (a hard bounce, a complaint)."""
    return Learner.objects.filter(pk__in=_ids(learner_ids), suppressed_at__isnull=True).update(
        suppressed_at=now, suppression_reason=reason
    )


def sunset_learners(*, learner_ids: Ids, now: dt.datetime) -> int:
    """The learners finished a sequence without returning: never enrolled again."""
    return Learner.objects.filter(pk__in=_ids(learner_ids), sunset_at__isnull=True).update(
        sunset_at=now
    )


def opt_out_managers(*, manager_ids: Ids, now: dt.datetime) -> int:
    """The managers want no more nudges or hand-offs; their reports stay subscribed."""
    return Manager.objects.filter(
        pk__in=_ids(manager_ids), nudges_opted_out_at__isnull=True
    ).update(nudges_opted_out_at=now)
