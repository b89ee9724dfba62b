"""Weekly team digests: created set-based at each manager's local digest hour, exactly once per
manager and week, only for managers with something to report."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import IntegrityError, connection, transaction
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from campaigns.engine.digests import create_due_digests
from campaigns.engine.run import run_pass
from campaigns.models import Campaign, DigestSettings, Enrollment, ManagerDigest
from learners.models import Learner, Manager
from tests.factories import CampaignFactory, LearnerFactory, ManagerFactory

pytestmark = pytest.mark.django_db

UTC = dt.UTC


def enrolled(
    manager: Manager, campaign: Campaign, *, rate: float = 50, **fields: object
) -> Learner:
    learner = LearnerFactory.create(manager=manager, completion_rate=rate)
    values: dict[str, object] = {
        "campaign": campaign,
        "learner": learner,
        "enrolled_at": dt.datetime(2026, 12, 1, tzinfo=UTC),
        "status": Enrollment.Status.ACTIVE,
        "next_step": 2,
        "next_due_at": dt.datetime(2027, 6, 1, tzinfo=UTC),
    }
    values.update(fields)
    Enrollment.objects.create(**values)
    return learner


@pytest.fixture
def campaign() -> Campaign:
    return CampaignFactory.create(status=Campaign.Status.ACTIVE)


def digest_managers() -> set[str]:
    """Who gets a digest (managers with nothing to report have a skipped row)."""
    queued = ManagerDigest.objects.filter(status=ManagerDigest.Status.QUEUED)
    return set(queued.values_list("manager__email", flat=True))


@override_settings(MANAGER_DEFAULT_TIME_ZONE="Asia/Tokyo")
def test_it_creates_each_digest_at_the_managers_local_monday_nine(campaign: Campaign) -> None:
    berlin = ManagerFactory.create(email="berlin@example.com", time_zone="Europe/Berlin")
    new_york = ManagerFactory.create(email="ny@example.com", time_zone="America/New_York")
    tokyo = ManagerFactory.create(email="tokyo@example.com", time_zone="")  # the setting
    quiet = ManagerFactory.create(email="quiet@example.com", time_zone="Europe/Berlin")
    for manager in (berlin, new_york, tokyo):
        enrolled(manager, campaign)
    LearnerFactory.create(manager=quiet)  # a report in no campaign: nothing to report

    # Monday 7 December 2026, 09:00 in Tokyo is 00:00 UTC.
    assert create_due_digests(now=dt.datetime(2026, 12, 6, 23, 59, tzinfo=UTC)).created == 0
    assert create_due_digests(now=dt.datetime(2026, 12, 7, 0, 0, tzinfo=UTC)).created == 1
    assert digest_managers() == {"tokyo@example.com"}
    # 08:59 in Berlin: not yet; 09:00 (08:00 UTC): Berlin's, and Tokyo's is not made again.
    assert create_due_digests(now=dt.datetime(2026, 12, 7, 7, 59, tzinfo=UTC)).created == 0
    assert create_due_digests(now=dt.datetime(2026, 12, 7, 8, 0, tzinfo=UTC)).created == 1
    assert create_due_digests(now=dt.datetime(2026, 12, 7, 8, 5, tzinfo=UTC)).created == 0
    # New York (EST, UTC-5): 09:00 is 14:00 UTC.
    assert create_due_digests(now=dt.datetime(2026, 12, 7, 13, 59, tzinfo=UTC)).created == 0
    assert create_due_digests(now=dt.datetime(2026, 12, 7, 14, 0, tzinfo=UTC)).created == 1
    assert digest_managers() == {"tokyo@example.com", "berlin@example.com", "ny@example.com"}
    digest = ManagerDigest.objects.get(manager=berlin)
    assert digest.week_of == dt.date(2026, 12, 7)
    assert digest.to_email == "berlin@example.com"
    assert digest.status == ManagerDigest.Status.QUEUED
    assert digest.reports == 1
    # Tuesday: nothing more this week; next Monday: the next week's.
    assert create_due_digests(now=dt.datetime(2026, 12, 8, 14, 0, tzinfo=UTC)).created == 0
    assert create_due_digests(now=dt.datetime(2026, 12, 14, 14, 0, tzinfo=UTC)).created == 3


def test_it_follows_new_york_across_the_us_dst_change(campaign: Campaign) -> None:
    manager = ManagerFactory.create(time_zone="America/New_York")
    enrolled(manager, campaign)
    # Monday 8 March 2027, EST: 09:00 is 14:00 UTC.
    assert create_due_digests(now=dt.datetime(2027, 3, 8, 13, 0, tzinfo=UTC)).created == 0
    assert create_due_digests(now=dt.datetime(2027, 3, 8, 14, 0, tzinfo=UTC)).created == 1
    # Clocks go forward on Sunday 14 March; Monday 15 March, EDT: 09:00 is 13:00 UTC.
    assert create_due_digests(now=dt.datetime(2027, 3, 15, 12, 59, tzinfo=UTC)).created == 0
    assert create_due_digests(now=dt.datetime(2027, 3, 15, 13, 0, tzinfo=UTC)).created == 1
    weeks = list(ManagerDigest.objects.order_by("week_of").values_list("week_of", flat=True))
    assert weeks == [dt.date(2027, 3, 8), dt.date(2027, 3, 15)]


def test_staff_choose_the_day_and_hour(campaign: Campaign) -> None:
    DigestSettings.objects.create(pk=1, weekday=4, hour=16)
    manager = ManagerFactory.create(time_zone="Europe/London")
    enrolled(manager, campaign)
    assert create_due_digests(now=dt.datetime(2026, 12, 7, 9, 0, tzinfo=UTC)).created == 0
    assert create_due_digests(now=dt.datetime(2026, 12, 11, 15, 59, tzinfo=UTC)).created == 0
    assert create_due_digests(now=dt.datetime(2026, 12, 11, 16, 0, tzinfo=UTC)).created == 1
    DigestSettings.objects.filter(pk=1).update(enabled=False)
    assert create_due_digests(now=dt.datetime(2026, 12, 18, 16, 0, tzinfo=UTC)).created == 0


def test_who_counts_as_something_to_report(campaign: Campaign) -> None:
    monday = dt.datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
    came_back = ManagerFactory.create(email="back@example.com", time_zone="UTC")
    enrolled(
        came_back,
        campaign,
        status=Enrollment.Status.REACTIVATED,
        reactivated_at=monday - dt.timedelta(days=3),
    )
    long_back = ManagerFactory.create(email="long@example.com", time_zone="UTC")
    enrolled(
        long_back,
        campaign,
        status=Enrollment.Status.REACTIVATED,
        reactivated_at=monday - dt.timedelta(days=8),
    )
    holdout = ManagerFactory.create(email="holdout@example.com", time_zone="UTC")
    enrolled(holdout, campaign, is_holdout=True)
    opted_out = ManagerFactory.create(
        email="optout@example.com", time_zone="UTC", nudges_opted_out_at=monday
    )
    enrolled(opted_out, campaign)
    no_digest = ManagerFactory.create(
        email="nodigest@example.com", time_zone="UTC", digests_opted_out_at=monday
    )
    enrolled(no_digest, campaign)
    made = create_due_digests(now=monday)
    assert (made.created, made.nothing_to_report) == (1, 2)
    assert digest_managers() == {"back@example.com"}
    skipped = ManagerDigest.objects.filter(status=ManagerDigest.Status.SKIPPED)
    assert dict(skipped.values_list("manager__email", "skip_reason")) == {
        "long@example.com": "nothing to report",
        "holdout@example.com": "nothing to report",
    }
    # Later that day nobody is left without a row: one query finds that, nothing is made.
    with CaptureQueriesContext(connection) as queries:
        assert create_due_digests(now=monday + dt.timedelta(hours=3)).created == 0
    assert len(queries) == 3


def test_it_stores_the_team_rate_and_last_weeks(campaign: Campaign) -> None:
    manager = ManagerFactory.create(time_zone="UTC")
    learner = enrolled(manager, campaign, rate=40)
    LearnerFactory.create(manager=manager, completion_rate=80)  # on the team, not in a campaign
    create_due_digests(now=dt.datetime(2026, 12, 7, 9, 0, tzinfo=UTC))
    first = ManagerDigest.objects.get()
    assert (first.team_completion_rate, first.previous_completion_rate) == (60, None)
    assert first.reports == 1
    Learner.objects.filter(pk=learner.pk).update(completion_rate=70)
    create_due_digests(now=dt.datetime(2026, 12, 14, 9, 0, tzinfo=UTC))
    second = ManagerDigest.objects.get(week_of=dt.date(2026, 12, 14))
    assert (second.team_completion_rate, second.previous_completion_rate) == (75, 60)


def test_the_database_refuses_a_second_digest_for_the_same_week(campaign: Campaign) -> None:
    manager = ManagerFactory.create(time_zone="UTC")
    enrolled(manager, campaign)
    create_due_digests(now=dt.datetime(2026, 12, 7, 9, 0, tzinfo=UTC))
    first = ManagerDigest.objects.get()
    with pytest.raises(IntegrityError), transaction.atomic():
        ManagerDigest.objects.create(
            manager=manager, week_of=first.week_of, due_at=first.due_at, created_at=first.due_at
        )


def test_its_queries_do_not_grow_with_managers(campaign: Campaign) -> None:
    def count_at(now: dt.datetime) -> int:
        with CaptureQueriesContext(connection) as queries:
            create_due_digests(now=now)
        return len(queries)

    DigestSettings.current()
    for zone in ("UTC", "Europe/Berlin"):
        enrolled(ManagerFactory.create(time_zone=zone), campaign)
    few = count_at(dt.datetime(2026, 12, 7, 9, 0, tzinfo=UTC))
    for n in range(20):
        enrolled(ManagerFactory.create(time_zone=("UTC", "Europe/Berlin")[n % 2]), campaign)
    many = count_at(dt.datetime(2026, 12, 14, 9, 0, tzinfo=UTC))
    assert (
        digest_managers()
        and ManagerDigest.objects.filter(week_of=dt.date(2026, 12, 14)).count() == 22
    )
    assert many == few


def test_a_pass_at_the_digest_hour_creates_them_and_a_second_pass_none(
    campaign: Campaign, django_capture_on_commit_callbacks: Any
) -> None:
    enrolled(ManagerFactory.create(time_zone="UTC"), campaign)
    handed: list[list[int]] = []
    monday = dt.datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
    with override_settings(REHAND_MAX_PER_PASS=0), django_capture_on_commit_callbacks(execute=True):
        first = run_pass(now=monday, hand_over=lambda ids: None, hand_over_digests=handed.append)
        second = run_pass(now=monday, hand_over=lambda ids: None, hand_over_digests=handed.append)
    assert (first.digests_created, second.digests_created) == (1, 0)
    assert handed == [list(ManagerDigest.objects.values_list("pk", flat=True))]
