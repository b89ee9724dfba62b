"""Whether a learner or a manager may be contacted: the one module that writes it.

Unsubscribing, suppression (hard bounce, complaint), sunset and a manager's opt-out of nudges
or of the weekly digest are written here and nowhere else, so their rules hold everywhere: the
first moment is kept (a repeat changes nothing), and none of them is ever cleared by an import
or an API call. What a campaign does about it (ending enrollments, skipping pending sends) is
the caller's business.

Every function is set-based (ids, a list or a queryset of them, or one value per id) and
returns how many rows changed. Lifting a suppression, which staff do with a reason, is the one
way a flag is ever cleared.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
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


def opt_out_manager_digests(*, manager_ids: Ids, now: dt.datetime) -> int:
    """The managers want no more weekly team digests; nudges are a list of their own."""
    return Manager.objects.filter(
        pk__in=_ids(manager_ids), digests_opted_out_at__isnull=True
    ).update(digests_opted_out_at=now)


def suppress_learners_at(*, moments: Mapping[int, tuple[dt.datetime, str]]) -> int:
    """Suppress each learner from its own moment, with its reason (ESP events applied in a
    batch): an earlier moment already stored is kept, the reason given replaces the stored one
    (the caller ranks a complaint above a bounce)."""
    learners = list(
        Learner.objects.filter(pk__in=list(moments)).only("pk", "suppressed_at").order_by("pk")
    )
    for learner in learners:
        at, reason = moments[learner.pk]
        if learner.suppressed_at is None or at < learner.suppressed_at:
            learner.suppressed_at = at
        learner.suppression_reason = reason
    Learner.objects.bulk_update(learners, ["suppressed_at", "suppression_reason"])
    return len(learners)


def suppress_learners_where(*, learners: QuerySet[Learner], at: Any, reason: Any) -> int:
    """Suppress the learners of ``learners`` not suppressed yet; ``at`` and ``reason`` may be
    expressions (e.g. a subquery on the suppression list), so this is one statement."""
    return learners.filter(suppressed_at__isnull=True).update(
        suppressed_at=at, suppression_reason=reason
    )


def lift_learner_suppression(*, email: str) -> int:
    """Staff lifted the suppression of this address (with a reason kept by the caller): the
    only way a suppression is ever cleared."""
    return Learner.objects.filter(email=email).update(suppressed_at=None, suppression_reason="")


def opt_out_managers_at(*, moments: Mapping[int, dt.datetime]) -> int:
    """Stop each manager's nudges from its own moment (a bounce or complaint of their own)."""
    managers = list(
        Manager.objects.filter(pk__in=list(moments), nudges_opted_out_at__isnull=True).only("pk")
    )
    for manager in managers:
        manager.nudges_opted_out_at = moments[manager.pk]
    Manager.objects.bulk_update(managers, ["nudges_opted_out_at"])
    return len(managers)


def restore_manager_nudges(*, email: str) -> int:
    """The manager's address was stopped only by a suppression that staff lifted."""
    return Manager.objects.filter(email=email).update(nudges_opted_out_at=None)
