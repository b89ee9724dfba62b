"""Holdout and variant buckets: the same in SQL and Python, unrelated across steps."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection

from campaigns.engine.buckets import HOLDOUT, VARIANT, bucket, bucket_sql
from campaigns.engine.windows import Window

OFFICE = Window(dt.time(20), dt.time(8), frozenset({0, 1, 2, 3, 4}))


@pytest.mark.django_db
@pytest.mark.parametrize("purpose", [HOLDOUT, VARIANT])
@pytest.mark.parametrize("salt", [42, 2_147_483_647, 98_765_432_109, 2**63 - 1])
def test_sql_and_python_buckets_agree(purpose: int, salt: int) -> None:
    # Ids and salts far beyond 32 bits, up to BigAutoField's largest: no overflow, same answer.
    ids = [1, 2, 17, 999, 123_456, 2_000_000_000, 2_147_483_648, 10**10 + 7, 10**15, 2**63 - 1]
    expression = bucket_sql("v.id", purpose=purpose, salt=salt, modulus=97)
    values = " UNION ALL ".join("SELECT %s AS id" for _ in ids)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT v.id, {expression} FROM ({values}) v", ids)  # noqa: S608
        in_sql = dict(cursor.fetchall())
    in_python = {i: bucket(i, purpose=purpose, salt=salt, modulus=97) for i in ids}
    assert in_sql == in_python


def test_buckets_for_different_steps_are_unrelated() -> None:
    learners = range(1, 4001)
    step_a = {i for i in learners if bucket(i, purpose=7, salt=1, modulus=2) == 0}
    step_b = {i for i in learners if bucket(i, purpose=7, salt=2, modulus=2) == 0}
    # Independent halves overlap on about a quarter of the learners.
    assert 850 <= len(step_a & step_b) <= 1150


def test_ids_below_the_prime_keep_the_buckets_they_always_had() -> None:
    # Learners enrolled before ids were reduced keep their holdout and variant.
    for learner_id in (1, 5, 123_456, 2_000_000_000):
        mixed = (learner_id * HOLDOUT + 42) % 2_147_483_647
        multiplier = (42 * 2_654_435_761 + 12_345) % 2_147_483_647
        expected = ((mixed * multiplier) % 2_147_483_647) % 100
        assert bucket(learner_id, purpose=HOLDOUT, salt=42, modulus=100) == expected
