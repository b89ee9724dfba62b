"""Erase a person's data (GDPR art. 17): personal columns blanked or rows deleted in every
table of the policy, the address kept only as a keyed hash that suppresses it for good, and
the erasure logged without personal data."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib.admin.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Q, Value
from django.db.models.functions import Replace

from campaigns.data_rights.policy import DELETE, Personal, Redact, covered
from campaigns.data_rights.subjects import Subject
from campaigns.models import Enrollment, Send
from learners import contactability
from learners.erasure import address_digest, remember_erased
from learners.models import Erasure, Learner, Manager

ERASED_TEXT = "[erased]"


def _values(personal: Personal, addresses: list[str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for column, value in personal.personal.items():
        if isinstance(value, Redact):
            text: Any = F(column)
            for address in addresses:
                text = Replace(text, Value(address), Value(ERASED_TEXT))
            values[column] = text
        else:
            values[column] = value
    return values


def _logged_id(external_id: str) -> str:
    # Some LMSs use the address as the user name: then the log keeps only its hash.
    return f"hmac:{address_digest(external_id)}" if "@" in external_id else external_id


def _admin_history(subject: Subject, addresses: list[str]) -> int:
    """The admin's history names objects by their ``str()``: "Ann Lee <ann@…>"."""
    mentions = Q(pk__in=[])
    for model, ids in ((Learner, subject.learner_ids), (Manager, subject.manager_ids)):
        mentions |= Q(
            content_type=ContentType.objects.get_for_model(model),
            object_id__in=[str(pk) for pk in ids],
        )
    for address in addresses:
        # "Ann Lee <ann@…>", "ann@…" or "ann@… (Hard bounce)": never a longer address.
        mentions |= (
            Q(object_repr__iexact=address)
            | Q(object_repr__icontains=f"<{address}>")
            | Q(object_repr__istartswith=f"{address} ")
        )
    return LogEntry.objects.filter(mentions).update(object_repr=ERASED_TEXT, change_message="")


@transaction.atomic
def erase_subject(*, subject: Subject, user: Any, now: dt.datetime) -> Erasure:
    """Erase ``subject``'s personal data everywhere; returns the log row.

    Their pending messages are skipped and an active enrollment ends, so nothing more is sent;
    rows the results count stay, anonymised, so every campaign's figures are unchanged.
    """
    learner = subject.learner
    if learner is not None and learner.erased_at is not None:
        raise ValidationError("This learner's data was already erased.")
    addresses = sorted({subject.address, *(m.email for m in subject.managers)})
    Send.objects.filter(
        Q(learner_id__in=subject.learner_ids) | Q(manager_id__in=subject.manager_ids),
        status__in=Send.PENDING,
    ).update(status=Send.Status.SKIPPED, skip_reason="data erased")
    Enrollment.objects.filter(
        learner_id__in=subject.learner_ids, status=Enrollment.Status.ACTIVE
    ).update(
        status=Enrollment.Status.EXITED,
        ended_at=now,
        next_step=None,
        next_due_at=None,
        exit_reason="data erased",
    )
    counts: dict[str, int] = {}
    for model, personal in covered():
        rows = model._default_manager.filter(subject.rows(personal))
        if personal.erase == DELETE:
            counts[model._meta.label] = rows.delete()[0]
        else:
            values = _values(personal, addresses)
            counts[model._meta.label] = rows.update(**values) if values else rows.count()
    counts["admin.LogEntry"] = _admin_history(subject, addresses)
    for address in addresses:
        remember_erased(address=address, now=now)
    contactability.erase_learner_contact(learner_ids=subject.learner_ids, now=now)
    Learner.objects.filter(pk__in=subject.learner_ids).update(erased_at=now)
    contactability.opt_out_managers(manager_ids=subject.manager_ids, now=now)
    return Erasure.objects.create(
        erased_at=now,
        erased_by=user if getattr(user, "pk", None) else None,
        erased_by_username=getattr(user, "username", "") or "manage.py",
        lms_id=_logged_id(learner.external_id) if learner is not None else "",
        learner_pk=learner.pk if learner is not None else None,
        manager_pk=subject.manager_ids[0] if subject.manager_ids else None,
        counts=counts,
    )
