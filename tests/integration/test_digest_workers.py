"""Weekly digests with two real Celery workers on Redis and PostgreSQL: two passes at the
digest hour at once, then a third, and every id handed over twice more — each manager still
gets exactly one digest."""

from __future__ import annotations

import threading
from collections import Counter

import pytest
from django.db import connection

from campaigns.engine.results import PassResult
from campaigns.engine.run import run_pass
from campaigns.models import ManagerDigest
from campaigns.tasks import enqueue_delivery, enqueue_digest_delivery
from tests.campaigns.conftest import day, make_drip
from tests.factories import CourseProgressFactory, LearnerFactory, ManagerFactory
from tests.integration.conftest import Sink, Workers, wait_for
from tests.integration.test_worker_delivery import OPEN_ALL_DAY

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.worker,
    pytest.mark.django_db(transaction=True),
]

MONDAY = day(6)  # Monday 7 December 2026, 09:00 UTC


def digests_settled() -> bool:
    return not ManagerDigest.objects.filter(status__in=["queued", "sending"]).exists()


def test_two_workers_and_two_passes_send_each_manager_one_digest(
    sink: Sink, workers: Workers
) -> None:
    make_drip(**OPEN_ALL_DAY)
    managers = [ManagerFactory.create(time_zone=("UTC", "Europe/London")[n % 2]) for n in range(30)]
    for manager in managers:
        for _ in range(2):
            CourseProgressFactory.create(learner=LearnerFactory.create(manager=manager))
    run_pass(now=day(0))  # enrolled; their first emails are not this test's business
    workers.start(batch_size=5)
    workers.start(batch_size=5)
    results: list[PassResult] = []

    def pass_at_the_digest_hour() -> None:
        try:
            results.append(
                run_pass(
                    now=MONDAY,
                    hand_over=enqueue_delivery,
                    hand_over_digests=enqueue_digest_delivery,
                )
            )
        finally:
            connection.close()

    threads = [threading.Thread(target=pass_at_the_digest_hour) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    pass_at_the_digest_hour()
    assert sum(r.digests_created for r in results) == 30
    ids = list(ManagerDigest.objects.values_list("pk", flat=True))
    enqueue_digest_delivery(ids)
    enqueue_digest_delivery(ids)

    def digests() -> list[object]:
        return [m for m in sink.messages if str(m["Subject"]).startswith("Your team this week")]

    wait_for(lambda: len(digests()) >= 30 and digests_settled(), what="30 digests")
    sent = digests()
    assert len(sent) == 30
    assert Counter(str(m["To"]) for m in sent) == Counter(m.email for m in managers)  # type: ignore[index]
    assert len({str(m["Message-ID"]) for m in sent}) == 30  # type: ignore[index]
    for message in sent:
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"  # type: ignore[index]
    assert ManagerDigest.objects.filter(status="sent").count() == 30
