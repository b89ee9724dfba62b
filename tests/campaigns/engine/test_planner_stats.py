"""Planner statistics after a pass that wrote a large share of a table."""

from __future__ import annotations

import pytest
from django.db import connection

from campaigns.engine import planner_stats
from campaigns.engine.run import run_pass
from campaigns.models import Campaign, Enrollment
from learners.models import Learner
from tests.campaigns.conftest import day
from tests.factories import CourseProgressFactory, LearnerFactory

pytestmark = pytest.mark.django_db


def learners(n: int) -> list[Learner]:
    return [CourseProgressFactory.create(learner=LearnerFactory.create()).learner for _ in range(n)]


def believed_rows(table: str) -> float:
    """What PostgreSQL's planner thinks the table holds."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples FROM pg_class WHERE oid = CAST(%s AS regclass)", [table])
        row = cursor.fetchone()
    assert row is not None
    return float(row[0])


@pytest.mark.postgres
def test_it_refreshes_them_before_delivery_after_a_pass_that_enrolled_many(
    drip: Campaign, monkeypatch: pytest.MonkeyPatch, django_capture_on_commit_callbacks: object
) -> None:
    monkeypatch.setattr(planner_stats, "MIN_ROWS", 1)
    learners(3)
    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
        result = run_pass(now=day(0))
    assert (result.enrolled, result.sends_created) == (3, 3)
    assert believed_rows("campaigns_enrollment") == 3
    assert believed_rows("campaigns_send") == 3


@pytest.mark.postgres
def test_it_leaves_them_alone_for_a_few_rows_or_a_small_share(
    drip: Campaign, monkeypatch: pytest.MonkeyPatch
) -> None:
    learners(12)
    run_pass(now=day(0))
    assert planner_stats.refresh_after_bulk_write({Enrollment: 12}) == []
    monkeypatch.setattr(planner_stats, "MIN_ROWS", 1)
    assert planner_stats.refresh_after_bulk_write({Enrollment: 12}) == ["campaigns_enrollment"]
    assert believed_rows("campaigns_enrollment") == 12
    # One row more is under a tenth of the twelve the planner now knows of; two are over.
    assert planner_stats.refresh_after_bulk_write({Enrollment: 1}) == []
    assert planner_stats.refresh_after_bulk_write({Enrollment: 2}) == ["campaigns_enrollment"]


def test_only_postgresql_collects_them(drip: Campaign) -> None:
    analyzed = planner_stats.refresh_after_bulk_write({Enrollment: 10**6})
    assert analyzed == (["campaigns_enrollment"] if connection.vendor == "postgresql" else [])
