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
def test_sql_and_python_buckets_agree(purpose: int) -> None:
    ids = [1, 2, 17, 999, 123_456, 2_000_000_000]
    expression = bucket_sql("v.id", purpose=purpose, salt=42, modulus=97)
    values = " UNION ALL ".join("SELECT %s AS id" for _ in ids)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT v.id, {expression} FROM ({values}) v", ids)  # noqa: S608
        in_sql = dict(cursor.fetchall())
    in_python = {i: bucket(i, purpose=purpose, salt=42, modulus=97) for i in ids}
    assert in_sql == in_python


def test_buckets_for_different_steps_are_unrelated() -> None:
    learners = range(1, 4001)
    step_a = {i for i in learners if bucket(i, purpose=7, salt=1, modulus=2) == 0}
    step_b = {i for i in learners if bucket(i, purpose=7, salt=2, modulus=2) == 0}
    # Independent halves overlap on about a quarter of the learners.
    assert 850 <= len(step_a & step_b) <= 1150
