"""Awards: a learner who comes back after an email that carried an incentive gets it, once,
with its expiry; discount codes come from the pool, each given once."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from campaigns.engine import awards
from campaigns.engine.run import run_pass
from campaigns.models import (
    Award,
    AwardPush,
    Campaign,
    DiscountCode,
    Enrollment,
    Incentive,
    Send,
    Step,
)
from learners.models import Learner
from tests.campaigns.conftest import day, make_drip
from tests.campaigns.engine.helpers import learners, run
from tests.factories import IncentiveFactory, staff_user

pytestmark = pytest.mark.django_db


def with_incentive(campaign: Campaign, position: int, incentive: Incentive) -> Step:
    step = campaign.steps.get(position=position)
    step.incentive = incentive
    step.save(update_fields=["incentive"])
    return step


def come_back(learner: Learner, at: dt.datetime) -> None:
    Learner.objects.filter(pk=learner.pk).update(last_active_at=at)


def test_a_learner_who_returns_after_the_incentive_email_gets_it_once(drip: Campaign):
    badge = IncentiveFactory.create(title="Comeback badge", expires_in_days=14, value="1 badge")
    step = with_incentive(drip, 2, badge)  # day 3
    back, early, away = learners(3)
    run(0)
    come_back(early, day(1))  # before the incentive email: nothing to award
    run(2)
    run(3)
    come_back(back, day(4))

    result = run(5)
    run(6)

    award = Award.objects.get()
    sent = Send.objects.get(learner=back, step=step)
    assert result.awarded == 1
    assert (award.learner, award.incentive, award.send, award.enrollment.learner) == (
        back,
        badge,
        sent,
        back,
    )
    assert (award.kind, award.title, award.value, award.code) == (
        "badge",
        "Comeback badge",
        "1 badge",
        "",
    )
    assert award.returned_at == day(4)
    assert award.awarded_at == day(5)
    assert sent.sent_at is not None
    assert award.expires_at == sent.sent_at.replace(microsecond=0) + dt.timedelta(days=14)
    assert not Award.objects.filter(learner__in=[early, away]).exists()
    # Nothing is pushed without an LMS webhook.
    assert not AwardPush.objects.exists()


def test_the_holdout_and_unsent_emails_earn_nothing(db: None):
    campaign = make_drip(holdout_percent=50)
    with_incentive(campaign, 1, IncentiveFactory.create())
    people = learners(10)
    run_pass(now=day(0))  # created and queued, never sent
    for person in people:
        come_back(person, day(1))
    run_pass(now=day(2))
    assert not Award.objects.exists()


def test_the_same_incentive_in_two_emails_is_awarded_once_for_the_first(drip: Campaign):
    badge = IncentiveFactory.create()
    with_incentive(drip, 1, badge)
    with_incentive(drip, 2, badge)
    (learner,) = learners(1)
    run(0)
    run(3)
    come_back(learner, day(4))
    run(5)
    award = Award.objects.select_related("send__step").get()
    assert award.send.step is not None and award.send.step.position == 1


def test_discount_codes_come_from_the_pool_each_given_once(drip: Campaign):
    discount = IncentiveFactory.create(kind="discount_code", title="20% off")
    with_incentive(drip, 1, discount)
    DiscountCode.objects.bulk_create(
        [DiscountCode(incentive=discount, code=c) for c in ("AAA-1", "AAA-2")]
    )
    people = learners(3)
    run(0)
    for person in people:
        come_back(person, day(1))

    result = run(2)

    assert (result.awarded, result.codes_given) == (3, 2)
    codes = dict(Award.objects.values_list("learner_id", "code"))
    assert sorted(codes.values()) == ["", "AAA-1", "AAA-2"]
    assert {c.award.code for c in DiscountCode.objects.select_related("award") if c.award} == {
        "AAA-1",
        "AAA-2",
    }
    # Staff import more codes: the learner left waiting gets one at the next pass.
    DiscountCode.objects.create(incentive=discount, code="AAA-3")
    assert run(3).codes_given == 1
    assert sorted(Award.objects.values_list("code", flat=True)) == ["AAA-1", "AAA-2", "AAA-3"]
    assert run(4).codes_given == 0


@override_settings(AWARD_WEBHOOK_URL="https://lms.example.com/awards", AWARD_WEBHOOK_SECRET="s")
def test_awards_are_queued_for_the_lms_once_ready(
    drip: Campaign, django_capture_on_commit_callbacks
):
    discount = IncentiveFactory.create(kind="discount_code")
    with_incentive(drip, 1, discount)
    with_incentive(drip, 2, IncentiveFactory.create())
    one, two = learners(2)
    run(0)
    run(3)
    come_back(one, day(4))
    come_back(two, day(4))
    DiscountCode.objects.create(incentive=discount, code="ONLY-ONE")
    handed: list[list[int]] = []

    with django_capture_on_commit_callbacks(execute=True):
        run_pass(now=day(5), hand_over_awards=handed.append)

    # Two badges and one discount with its code are ready; the discount without one waits.
    assert Award.objects.count() == 4
    assert AwardPush.objects.count() == 3
    assert not AwardPush.objects.filter(award__code="", award__kind="discount_code").exists()
    assert sorted(handed[0]) == sorted(AwardPush.objects.values_list("pk", flat=True))
    run_pass(now=day(5, hour=10), hand_over_awards=handed.append)
    assert AwardPush.objects.count() == 3


def _pass_queries(population: int) -> int:
    campaign = make_drip()
    discount = IncentiveFactory.create(kind="discount_code")
    with_incentive(campaign, 1, discount)
    people = learners(population)
    DiscountCode.objects.bulk_create(
        [DiscountCode(incentive=discount, code=f"C{population}-{n}") for n in range(population)]
    )
    run(0)
    for person in people:
        come_back(person, day(1))
    with CaptureQueriesContext(connection) as queries:
        result = run_pass(now=day(2))
    assert result.codes_given == population
    return len(queries)


def test_awarding_takes_as_many_queries_for_30_returners_as_for_3(db: None):
    small = _pass_queries(3)
    Send.objects.all().delete()
    Enrollment.objects.all().delete()
    Learner.objects.all().delete()
    Campaign.objects.all().delete()
    assert _pass_queries(30) == small


def test_assigning_codes_twice_gives_nothing_more(drip: Campaign):
    discount = IncentiveFactory.create(kind="discount_code")
    with_incentive(drip, 1, discount)
    (learner,) = learners(1)
    DiscountCode.objects.create(incentive=discount, code="X")
    run(0)
    come_back(learner, day(1))
    run(2)
    assert awards.assign_codes(now=day(2)) == 0
    assert Award.objects.get().code == "X"


@override_settings(AWARD_WEBHOOK_URL="https://lms.example.com/awards", AWARD_WEBHOOK_SECRET="s")
def test_the_award_shows_on_the_learner_s_timeline(drip: Campaign, client):
    discount = IncentiveFactory.create(kind="discount_code", title="20% off", expires_in_days=30)
    with_incentive(drip, 1, discount)
    DiscountCode.objects.create(incentive=discount, code="WELCOME-20")
    (learner,) = learners(1)
    run(0)
    come_back(learner, day(1))
    run(2)
    client.force_login(staff_user("victor", "Viewers"))

    text = client.get(f"/admin/campaigns/espevent/timeline/learner/{learner.pk}/").content.decode()

    assert "Awarded: 20% off" in text
    assert "promised by “Day 0”; code WELCOME-20; expires 2026-12-31; LMS: waiting" in text
    # Staff in the Viewers role see awards and pushes too.
    assert client.get("/admin/campaigns/award/").status_code == 200
    assert "WELCOME-20" in client.get("/admin/campaigns/award/").content.decode()


def test_recording_twice_for_the_same_return_records_once(drip: Campaign):
    with_incentive(drip, 1, IncentiveFactory.create())
    (learner,) = learners(1)
    run(0)
    come_back(learner, day(1))

    assert awards.record_awards(campaign=drip, now=day(1, hour=10)) == 1
    assert awards.record_awards(campaign=drip, now=day(1, hour=11)) == 0
    assert Award.objects.get().awarded_at == day(1, hour=10)
