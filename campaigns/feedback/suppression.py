"""Suppression by address: an address that hard-bounced, bounced softly too often or complained
is not mailed again — as a learner or as a manager — until staff lift it, with a reason.

The list is kept by normalized address (``SuppressedAddress``), apart from the learner and
manager rows, so it survives re-imports (imports never write the contactability fields) and a
learner deleted and created again (:func:`reapply_suppressions`, run at every pass).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Case, Exists, OuterRef, Subquery, Value, When

from campaigns.models import Audience, Enrollment, Send, SuppressedAddress
from learners.models import Learner, Manager

PENDING = (Send.Status.SCHEDULED, Send.Status.QUEUED)


@dataclass(frozen=True)
class Suppression:
    """One reason to suppress an address, from one event."""

    address: str
    at: dt.datetime
    reason: str
    detail: str = ""
    status_code: str = ""
    event_id: int | None = None


def _learner_reason(reason: str) -> str:
    if reason == SuppressedAddress.Reason.COMPLAINT:
        return Learner.SuppressionReason.COMPLAINT
    return Learner.SuppressionReason.BOUNCE


def _record(entry: Suppression) -> SuppressedAddress | None:
    """Create or move back the address's active row; None when staff lifted it after the
    event (a replayed old bounce must not undo their decision)."""
    row = (
        SuppressedAddress.objects.select_for_update()
        .filter(address=entry.address, lifted_at__isnull=True)
        .first()
    )
    values: dict[str, Any] = {
        "reason": entry.reason,
        "detail": entry.detail[:2000],
        "status_code": entry.status_code[:12],
        "event_id": entry.event_id,
        "suppressed_at": entry.at,
    }
    if row is not None:
        # The earliest event explains the suppression, whatever order events arrive in.
        if entry.at < row.suppressed_at:
            SuppressedAddress.objects.filter(pk=row.pk).update(**values)
        return row
    lifted = SuppressedAddress.objects.filter(
        address=entry.address, lifted_at__gte=entry.at
    ).exists()
    if lifted:
        return None
    return SuppressedAddress.objects.create(address=entry.address, **values)


def suppress(entries: list[Suppression]) -> int:
    """Suppress each entry's address; returns how many addresses are newly suppressed.

    Learners with the address stop getting mail (pending sends skipped); managers stop getting
    nudges; a complaint also ends every active enrollment of the learner.
    """
    newly = 0
    with transaction.atomic():
        for entry in sorted(entries, key=lambda e: (e.address, e.at)):
            row = _record(entry)
            if row is None:
                continue
            newly += _apply_to_people(entry, row)
    return newly


def _apply_to_people(entry: Suppression, row: SuppressedAddress) -> int:
    reason = _learner_reason(entry.reason)
    learners = Learner.objects.filter(email=entry.address)
    changed = learners.filter(suppressed_at__isnull=True).update(
        suppressed_at=entry.at, suppression_reason=reason
    )
    # An earlier event moves the time back; a complaint's reason wins over a bounce's.
    learners.filter(suppressed_at__gt=entry.at).update(suppressed_at=entry.at)
    if reason == Learner.SuppressionReason.COMPLAINT:
        learners.update(suppression_reason=reason)
        Enrollment.objects.filter(
            learner__email=entry.address, status=Enrollment.Status.ACTIVE
        ).update(
            status=Enrollment.Status.EXITED,
            ended_at=entry.at,
            exit_reason="complained",
            next_due_at=None,
        )
    Send.objects.filter(
        learner__email=entry.address, audience=Audience.LEARNER, status__in=PENDING
    ).update(status=Send.Status.SKIPPED, skip_reason="address suppressed")
    stopped = Manager.objects.filter(email=entry.address, nudges_opted_out_at__isnull=True).update(
        nudges_opted_out_at=entry.at
    )
    if stopped:
        SuppressedAddress.objects.filter(pk=row.pk).update(stopped_manager_nudges=True)
    Send.objects.filter(
        manager__email=entry.address, audience=Audience.MANAGER, status__in=PENDING
    ).update(status=Send.Status.SKIPPED, skip_reason="manager address suppressed")
    return int(bool(changed or stopped))


def reapply_suppressions(*, now: dt.datetime) -> int:
    """Suppress learners and managers created (or re-created) with an address on the list.

    Two statements whatever the size of the list; run before the pass enrolls anyone.
    """
    active = SuppressedAddress.objects.filter(lifted_at__isnull=True)
    same = active.filter(address=OuterRef("email"))
    learners = Learner.objects.filter(suppressed_at__isnull=True).filter(Exists(same))
    complained = same.filter(reason=SuppressedAddress.Reason.COMPLAINT)
    changed = learners.update(
        suppressed_at=Subquery(same.values("suppressed_at")[:1]),
        # The list's three reasons map onto the learner's two.
        suppression_reason=Case(
            When(Exists(complained), then=Value(Learner.SuppressionReason.COMPLAINT)),
            default=Value(Learner.SuppressionReason.BOUNCE),
        ),
    )
    managers = Manager.objects.filter(nudges_opted_out_at__isnull=True).filter(Exists(same))
    manager_emails = list(managers.values_list("email", flat=True))
    if manager_emails:
        managers.update(nudges_opted_out_at=now)
        active.filter(address__in=manager_emails).update(stopped_manager_nudges=True)
    return changed + len(manager_emails)


@transaction.atomic
def lift_suppression(
    *, suppression: SuppressedAddress, reason: str, user: Any, now: dt.datetime
) -> SuppressedAddress:
    """Staff lift a suppression: the address may be mailed again. The reason is required and
    kept with the row, which stays as history."""
    reason = reason.strip()
    if not reason:
        raise ValidationError("Say why the suppression is lifted; the reason is kept.")
    row = SuppressedAddress.objects.select_for_update().get(pk=suppression.pk)
    if row.lifted_at is not None:
        raise ValidationError(f"The suppression of {row.address} was already lifted.")
    row.lifted_at, row.lifted_by, row.lift_reason = now, user, reason[:2000]
    row.save(update_fields=["lifted_at", "lifted_by", "lift_reason"])
    Learner.objects.filter(email=row.address).update(suppressed_at=None, suppression_reason="")
    if row.stopped_manager_nudges:
        Manager.objects.filter(email=row.address).update(nudges_opted_out_at=None)
    return row
