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
from learners import contactability
from learners.models import Learner, Manager
from reengagement.rows import update_rows

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


def _record(entries: list[Suppression]) -> list[tuple[Suppression, SuppressedAddress]]:
    """Create or move back each address's active row, a few statements for the batch; the
    entries that (still) suppress, with their row. An entry older than a lift of its address
    is dropped: a replayed old bounce must not undo staff's decision."""
    earliest: dict[str, Suppression] = {}
    for entry in entries:
        if entry.address not in earliest or entry.at < earliest[entry.address].at:
            earliest[entry.address] = entry
    addresses = sorted(earliest)
    active = {
        row.address: row
        for row in SuppressedAddress.objects.select_for_update()
        .filter(address__in=addresses, lifted_at__isnull=True)
        .order_by("pk")
    }
    last_lift: dict[str, dt.datetime] = {}
    for address, lifted_at in SuppressedAddress.objects.filter(
        address__in=addresses, lifted_at__isnull=False
    ).values_list("address", "lifted_at"):
        if lifted_at is not None:
            last_lift[address] = max(lifted_at, last_lift.get(address, lifted_at))
    new_rows, moved = [], []
    for address, entry in earliest.items():
        row = active.get(address)
        values = _values(entry)
        if row is not None:
            # The earliest event explains the suppression, whatever order events arrive in.
            if entry.at < row.suppressed_at:
                for name, value in values.items():
                    setattr(row, name, value)
                moved.append(row)
        elif address not in last_lift or last_lift[address] < entry.at:
            new_rows.append(SuppressedAddress(address=address, **values))
    update_rows(moved, list(_values(entries[0])) if moved else [])
    SuppressedAddress.objects.bulk_create(new_rows)
    rows = {**active, **{row.address: row for row in new_rows}}
    return [(e, rows[e.address]) for e in entries if e.address in rows]


def _values(entry: Suppression) -> dict[str, Any]:
    return {
        "reason": entry.reason,
        "detail": entry.detail[:2000],
        "status_code": entry.status_code[:12],
        "event_id": entry.event_id,
        "suppressed_at": entry.at,
    }


def suppress(entries: list[Suppression]) -> int:
    """Suppress each entry's address; returns how many learners and managers it newly stops.

    Learners with the address stop getting mail (pending sends skipped); managers stop getting
    nudges; a complaint also ends every active enrollment of the learner. A constant number
    of statements whatever the number of entries.
    """
    if not entries:
        return 0
    with transaction.atomic():
        kept = _record(entries)
        if not kept:
            return 0
        return _stop_learners(kept) + _stop_managers(kept)


def _stop_learners(kept: list[tuple[Suppression, SuppressedAddress]]) -> int:
    by_address: dict[str, list[Suppression]] = {}
    for entry, _row in kept:
        by_address.setdefault(entry.address, []).append(entry)
    learners = list(
        Learner.objects.filter(email__in=list(by_address))
        .only("pk", "email", "suppressed_at", "suppression_reason")
        .order_by("pk")
    )
    moments: dict[int, tuple[dt.datetime, str]] = {}
    newly, complained = 0, []
    for learner in learners:
        mine = by_address[learner.email]
        first = min(e.at for e in mine)
        reasons = {_learner_reason(e.reason) for e in mine}
        reason = (
            Learner.SuppressionReason.COMPLAINT
            if Learner.SuppressionReason.COMPLAINT in reasons
            else learner.suppression_reason or Learner.SuppressionReason.BOUNCE
        )
        newly += learner.suppressed_at is None
        moments[learner.pk] = (first, reason)
        complaint = [e.at for e in mine if e.reason == SuppressedAddress.Reason.COMPLAINT]
        if complaint:
            complained.append((learner.pk, min(complaint)))
    contactability.suppress_learners_at(moments=moments)
    if complained:
        _end_enrollments(complained)
    Send.objects.filter(
        learner_id__in=[learner.pk for learner in learners],
        audience=Audience.LEARNER,
        status__in=PENDING,
    ).update(status=Send.Status.SKIPPED, skip_reason="address suppressed")
    return newly


def _end_enrollments(complained: list[tuple[int, dt.datetime]]) -> None:
    at = dict(complained)
    enrollments = list(
        Enrollment.objects.filter(learner_id__in=list(at), status=Enrollment.Status.ACTIVE)
        .only("pk", "learner_id")
        .order_by("pk")
    )
    for enrollment in enrollments:
        enrollment.status = Enrollment.Status.EXITED
        enrollment.ended_at = at[enrollment.learner_id]
        enrollment.exit_reason = "complained"
        enrollment.next_due_at = None
    update_rows(enrollments, ["status", "ended_at", "exit_reason", "next_due_at"])


def _stop_managers(kept: list[tuple[Suppression, SuppressedAddress]]) -> int:
    first: dict[str, dt.datetime] = {}
    rows: dict[str, SuppressedAddress] = {}
    for entry, row in kept:
        first[entry.address] = min(entry.at, first.get(entry.address, entry.at))
        rows[entry.address] = row
    managers = list(
        Manager.objects.filter(email__in=list(first), nudges_opted_out_at__isnull=True)
        .only("pk", "email", "nudges_opted_out_at")
        .order_by("pk")
    )
    contactability.opt_out_managers_at(moments={m.pk: first[m.email] for m in managers})
    SuppressedAddress.objects.filter(
        pk__in=[rows[m.email].pk for m in managers if rows[m.email].pk]
    ).update(stopped_manager_nudges=True)
    Send.objects.filter(
        manager__email__in=list(first), audience=Audience.MANAGER, status__in=PENDING
    ).update(status=Send.Status.SKIPPED, skip_reason="manager address suppressed")
    return len(managers)


def reapply_suppressions(*, now: dt.datetime) -> int:
    """Suppress learners and managers created (or re-created) with an address on the list.

    Two statements whatever the size of the list; run before the pass enrolls anyone.
    """
    active = SuppressedAddress.objects.filter(lifted_at__isnull=True)
    same = active.filter(address=OuterRef("email"))
    complained = same.filter(reason=SuppressedAddress.Reason.COMPLAINT)
    changed = contactability.suppress_learners_where(
        learners=Learner.objects.filter(Exists(same)),
        at=Subquery(same.values("suppressed_at")[:1]),
        # The list's three reasons map onto the learner's two.
        reason=Case(
            When(Exists(complained), then=Value(Learner.SuppressionReason.COMPLAINT)),
            default=Value(Learner.SuppressionReason.BOUNCE),
        ),
    )
    managers = Manager.objects.filter(nudges_opted_out_at__isnull=True).filter(Exists(same))
    manager_emails = list(managers.values_list("email", flat=True))
    if manager_emails:
        contactability.opt_out_managers(manager_ids=managers.values("pk"), now=now)
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
    contactability.lift_learner_suppression(email=row.address)
    if row.stopped_manager_nudges:
        contactability.restore_manager_nudges(email=row.address)
    return row
