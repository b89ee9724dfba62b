"""Deterministic buckets (holdout, A/B variant) and the arms of a step: which variant a
learner gets and when each variant is due, in SQL and in Python alike."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.db.models import (
    Case,
    DateTimeField,
    ExpressionWrapper,
    F,
    IntegerField,
    Prefetch,
    When,
)
from django.db.models.expressions import Combinable, RawSQL
from django.db.models.lookups import LessThan

from campaigns.engine.sql import ENROLLMENT
from campaigns.models import Campaign, Step, Variant

# Deterministic buckets: an integer hash of (learner id, salt) that SQL and Python compute
# identically, so holdouts and variants are assigned inside INSERT … SELECT and a learner keeps
# theirs across passes. Each purpose has its own multiplier so that being in the holdout says
# nothing about which variant one would have got. Ids and salts are reduced modulo the prime
# first, so every intermediate stays below 2**62 for any BigAutoField id (PostgreSQL's BIGINT
# and SQLite's integers overflow at 2**63); below the prime the result is what it always was.
_PRIME = 2_147_483_647
HOLDOUT = 1_103_515_245
VARIANT = 48_271


def _salt_multiplier(salt: int) -> int:
    # A multiplier per salt (rather than an offset) so that two steps' variant buckets are
    # unrelated: with an offset, "A in step 2" would predict "A in step 3".
    return (salt * 2_654_435_761 + 12_345) % _PRIME or 1


def bucket(learner_id: int, *, purpose: int, salt: int, modulus: int) -> int:
    """The learner's bucket in ``range(modulus)``; same value as :func:`bucket_sql`."""
    mixed = ((learner_id % _PRIME) * purpose + salt % _PRIME) % _PRIME
    return ((mixed * _salt_multiplier(salt)) % _PRIME) % modulus


def bucket_sql(column: str, *, purpose: int, salt: int, modulus: int) -> str:
    """SQL for :func:`bucket` over ``column``, for a parameterized query (the modulo operator
    is written ``%%``); only integers are interpolated."""
    purpose, salt, modulus = int(purpose), int(salt), int(modulus)
    mixed = f"(((CAST({column} AS BIGINT) %% {_PRIME}) * {purpose} + {salt % _PRIME}) %% {_PRIME})"
    return f"((({mixed} * {_salt_multiplier(salt)}) %% {_PRIME}) %% {modulus})"


@dataclass(frozen=True)
class _Arm:
    """One variant of a step (or the step itself) with its share of the bucket range."""

    variant_id: int | None
    cutoff: int
    delay: dt.timedelta


def steps_of(campaign: Campaign) -> list[Step]:
    return list(
        Step.objects.filter(campaign=campaign)
        .order_by("position")
        .prefetch_related(Prefetch("variants", queryset=Variant.objects.order_by("label", "pk")))
    )


def arms_of(step: Step) -> tuple[int, list[_Arm]]:
    """The step's variants as cumulative bucket ranges: (modulus, arms)."""
    variants = list(step.variants.all())
    if not variants:
        return 1, [_Arm(None, 1, step.delay)]
    # All weights zero means "no preference", not "nobody gets it".
    weights = (
        [v.weight for v in variants] if any(v.weight for v in variants) else [1] * len(variants)
    )
    arms: list[_Arm] = []
    total = 0
    for variant, weight in zip(variants, weights, strict=True):
        if weight <= 0:
            continue
        total += weight
        delay = step.delay
        if variant.delay_days is not None or variant.delay_hours is not None:
            delay = dt.timedelta(
                days=step.delay_days if variant.delay_days is None else variant.delay_days,
                hours=step.delay_hours if variant.delay_hours is None else variant.delay_hours,
            )
        arms.append(_Arm(variant.pk, total, delay))
    return total, arms


def _variant_bucket(column: str, step: Step, modulus: int) -> str:
    return bucket_sql(column, purpose=VARIANT, salt=step.pk, modulus=modulus)


def variant_case_sql(column: str, step: Step) -> str:
    """SQL choosing the learner's variant id (or NULL) for ``step``."""
    modulus, arms = arms_of(step)
    if arms[0].variant_id is None:
        return "NULL"
    bucket = _variant_bucket(column, step, modulus)
    whens = " ".join(f"WHEN {bucket} < {arm.cutoff} THEN {arm.variant_id}" for arm in arms[:-1])
    last = arms[-1].variant_id
    return f"CASE {whens} ELSE {last} END" if whens else str(last)


def due_case_sql(column: str, step: Step, base: dt.datetime) -> tuple[str, list[Any]]:
    """SQL for when ``step`` is due for a learner enrolled at ``base`` (variants may differ)."""
    modulus, arms = arms_of(step)
    adapt = connection.ops.adapt_datetimefield_value
    if len({arm.delay for arm in arms}) == 1:
        return "%s", [adapt(base + arms[0].delay)]
    bucket = _variant_bucket(column, step, modulus)
    whens = " ".join(f"WHEN {bucket} < {arm.cutoff} THEN %s" for arm in arms[:-1])
    params = [adapt(base + arm.delay) for arm in arms]
    return f"CASE {whens} ELSE %s END", params


def due_expression(step: Step) -> Combinable:
    """ORM expression: when ``step`` is due for each enrollment (from its ``enrolled_at``)."""
    modulus, arms = arms_of(step)

    def at(delay: dt.timedelta) -> ExpressionWrapper[Any]:
        return ExpressionWrapper(F("enrolled_at") + delay, output_field=DateTimeField())

    if len({arm.delay for arm in arms}) == 1:
        return at(arms[0].delay)
    bucket = RawSQL(  # noqa: S611 (only integers and a column name)
        _variant_bucket(f"{ENROLLMENT}.learner_id", step, modulus), [], output_field=IntegerField()
    )
    return Case(
        *[When(LessThan(bucket, arm.cutoff), then=at(arm.delay)) for arm in arms[:-1]],
        default=at(arms[-1].delay),
        output_field=DateTimeField(),
    )
