"""Two passes handing out discount codes at once, on PostgreSQL: no code is given twice and no
award gets two, whoever locks first."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from django.db import connection, transaction

from campaigns.engine.awards import assign_codes
from campaigns.models import Award, DiscountCode, Enrollment, Incentive
from tests.campaigns.conftest import day, make_drip
from tests.factories import IncentiveFactory, LearnerFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def waiting_awards(count: int, codes: int) -> Incentive:
    campaign = make_drip()
    step = campaign.steps.first()
    discount = IncentiveFactory.create(kind="discount_code", title="20% off")
    for _n in range(count):
        learner = LearnerFactory.create()
        enrollment = Enrollment.objects.create(
            campaign=campaign, learner=learner, enrolled_at=day(0)
        )
        send = enrollment.sends.create(
            campaign=campaign,
            learner=learner,
            audience="learner",
            status="sent",
            step=step,
            due_at=day(0),
            created_at=day(0),
            sent_at=day(0),
        )
        Award.objects.create(
            learner=learner,
            enrollment=enrollment,
            incentive=discount,
            send=send,
            kind="discount_code",
            title="20% off",
            returned_at=day(1),
            awarded_at=day(1),
        )
    DiscountCode.objects.bulk_create(
        [DiscountCode(incentive=discount, code=f"OFF-{n:03d}") for n in range(codes)]
    )
    return discount


def in_thread(body: Callable[[], object], errors: list[BaseException]) -> threading.Thread:
    def run() -> None:
        try:
            body()
        except BaseException as exc:  # reported by the test
            errors.append(exc)
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def assert_each_code_once() -> None:
    given = list(Award.objects.exclude(code="").values_list("code", flat=True))
    assert len(given) == len(set(given))
    linked = dict(DiscountCode.objects.filter(award__isnull=False).values_list("award_id", "code"))
    assert linked == dict(Award.objects.exclude(code="").values_list("pk", "code"))


def test_two_passes_at_once_give_each_code_once():
    waiting_awards(count=40, codes=30)
    locked, release = threading.Event(), threading.Event()
    counts: dict[str, int] = {}
    errors: list[BaseException] = []

    def first() -> None:
        with transaction.atomic():
            counts["first"] = assign_codes(now=day(2))
            locked.set()
            release.wait(20)

    def second() -> None:
        locked.wait(20)
        with transaction.atomic():
            counts["second"] = assign_codes(now=day(2))
        release.set()

    threads = [in_thread(first, errors), in_thread(second, errors)]
    for thread in threads:
        thread.join(30)

    assert errors == []
    assert counts["first"] + counts["second"] == 30
    assert_each_code_once()
    assert Award.objects.filter(code="").count() == 10


def test_a_pass_skips_the_codes_another_holds_and_gives_the_rest():
    discount = waiting_awards(count=10, codes=10)
    held, release = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def other_pass() -> None:
        # Another pass in the middle of writing: it holds the first five codes.
        with transaction.atomic():
            list(
                DiscountCode.objects.filter(incentive=discount)
                .order_by("pk")
                .select_for_update()[:5]
            )
            held.set()
            release.wait(20)

    thread = in_thread(other_pass, errors)
    held.wait(20)
    given = assign_codes(now=day(2))
    release.set()
    thread.join(30)

    assert errors == []
    assert given == 5
    free = DiscountCode.objects.filter(award__isnull=True).order_by("pk")
    assert list(free.values_list("code", flat=True)) == [f"OFF-{n:03d}" for n in range(5)]
    assert assign_codes(now=day(2)) == 5
    assert_each_code_once()
    assert not Award.objects.filter(code="").exists()
