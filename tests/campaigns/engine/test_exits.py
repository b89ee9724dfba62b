"""Exits: learners who come back leave the drip; the holdout gets no milestone or hand-off."""

from __future__ import annotations

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext

from campaigns.engine.exits import end_reactivated
from campaigns.engine.run import run_pass
from campaigns.feedback import subscriptions
from campaigns.models import Campaign, Enrollment, Send
from learners.models import Learner
from tests.campaigns.conftest import day, make_drip
from tests.campaigns.engine.helpers import learners, run

pytestmark = pytest.mark.django_db


def test_a_learner_who_returns_on_day_5_gets_no_further_step(drip: Campaign) -> None:
    stays, returns = learners(2)
    run(0)
    run(3)
    returns.last_active_at = day(5)
    returns.save()
    result = run(5)
    assert result.reactivated == 1
    enrollment = Enrollment.objects.get(learner=returns)
    assert (enrollment.status, enrollment.reactivated_at) == ("reactivated", day(5))
    for n in range(6, 31):
        run(n)
    mine = [m.subject for m in mail.outbox if m.to == [returns.email]]
    assert mine == [
        f"Day 0: {returns.first_name}, your course is waiting",
        f"Day 3: {returns.first_name}, your course is waiting",
        f"Welcome back, {returns.first_name}!",
    ]
    assert len([m for m in mail.outbox if m.to == [stays.email]]) == 6


def test_holdout_learners_get_no_welcome_back_and_no_handoff(db: None) -> None:
    make_drip(holdout_percent=50)
    people = learners(20)
    run_pass(now=day(0))
    holdout = Enrollment.objects.filter(is_holdout=True)
    assert holdout.exists()
    Learner.objects.filter(pk__in=holdout.values("learner_id")[:1]).update(last_active_at=day(1))
    run_pass(now=day(1))
    for n in range(2, 31):
        run_pass(now=day(n))
    holdout_learners = set(holdout.values_list("learner_id", flat=True))
    assert not Send.objects.filter(learner_id__in=holdout_learners).exists()
    assert Send.objects.filter(kind=Send.Kind.HANDOFF).count() == len(people) - len(
        holdout_learners
    )


def _updated_tables(queries: list[dict[str, str]]) -> list[str]:
    tables = []
    for query in queries:
        sql = query["sql"].lstrip().upper()
        for table in ("CAMPAIGNS_ENROLLMENT", "CAMPAIGNS_SEND"):
            if sql.startswith(f'UPDATE "{table}"') or sql.startswith(f"UPDATE {table}"):
                tables.append(table.lower())
    return tables


def test_a_return_and_an_unsubscribe_lock_enrollments_before_sends(drip: Campaign) -> None:
    returns, leaves = learners(2)
    run(0)
    Learner.objects.filter(pk=returns.pk).update(last_active_at=day(1))
    with CaptureQueriesContext(connection) as reactivation:
        end_reactivated(campaign=drip, now=day(2))
    with CaptureQueriesContext(connection) as unsubscribe:
        subscriptions.unsubscribe_learner(
            learner_id=leaves.pk, now=day(2), send_id=Send.objects.get(learner=leaves).pk
        )
    # The same order in both, so two transactions wait for each other instead of deadlocking.
    for captured in (reactivation, unsubscribe):
        tables = _updated_tables(captured.captured_queries)
        assert tables[0] == "campaigns_enrollment", tables
        assert "campaigns_send" in tables


def test_a_return_between_two_enrollment_days_ends_only_the_earlier_enrollment(
    drip: Campaign,
) -> None:
    # The pass looks for returns only among learners active after the campaign's oldest
    # active enrollment: activity reported late, dated between an early and a later
    # enrollment, is still a return for the early one and not for the later one.
    early = learners(1)[0]
    run(0)
    late = learners(1)[0]
    run(5)
    assert Enrollment.objects.filter(status=Enrollment.Status.ACTIVE).count() == 2
    Learner.objects.filter(pk__in=[early.pk, late.pk]).update(last_active_at=day(4))
    result = run(6)
    assert result.reactivated == 1
    assert Enrollment.objects.get(learner=early).status == Enrollment.Status.REACTIVATED
    assert Enrollment.objects.get(learner=late).status == Enrollment.Status.ACTIVE
