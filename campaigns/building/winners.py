"""Scaling an A/B winner: the variant takes every learner not yet sent, with an audit entry."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction

from campaigns.models import Send, Variant, WinnerApplied


def apply_winner(
    *,
    variant: Variant,
    figures: dict[str, Any],
    user: User | None,
    now: dt.datetime,
) -> WinnerApplied:
    """Give ``variant`` weight 100 and its step's other variants 0, move the step's sends that
    are still scheduled (not yet handed to delivery) to it, and record who did it, when, and
    the ``figures`` they saw.

    Messages already queued or sent keep their variant: the analysis stays by assignment.
    """
    step = variant.step
    if not step.variants.exclude(pk=variant.pk).exists():
        raise ValidationError(f"Step “{step}” has no other variant to replace.")
    with transaction.atomic():
        step.variants.exclude(pk=variant.pk).update(weight=0)
        Variant.objects.filter(pk=variant.pk).update(weight=100)
        Send.objects.filter(step=step, kind=Send.Kind.STEP, status=Send.Status.SCHEDULED).exclude(
            variant=variant
        ).update(variant=variant)
        return WinnerApplied.objects.create(
            step=step,
            variant=variant,
            applied_by=user if user is not None and user.pk else None,
            applied_at=now,
            figures=figures,
        )
