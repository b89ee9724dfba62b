"""The pass and delivery with real Celery workers on Redis, PostgreSQL and an SMTP sink."""

from __future__ import annotations

import datetime as dt
import threading
from collections import Counter

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.utils import timezone

from campaigns.delivery.record import STALE_SENDING_AFTER, reconcile_stale
from campaigns.engine.results import PassResult
from campaigns.engine.run import PASS_LOCK_NAME, run_pass
from campaigns.feedback import subscriptions
from campaigns.models import Campaign, PassLock, Send
from campaigns.tasks import enqueue_delivery
from learners.models import Learner
from tests.campaigns.conftest import day, make_drip
from tests.factories import CourseProgressFactory, LearnerFactory
from tests.integration.conftest import Sink, Workers, wait_for

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.worker,
    pytest.mark.django_db(transaction=True),
]


def learners(n: int) -> list[Learner]:
    return [CourseProgressFactory.create(learner=LearnerFactory.create()).learner for _ in range(n)]


# Real workers decide quiet hours by the real clock, whatever day the passes simulate: these
# campaigns may mail at any hour on any day, so a run at night or on a weekend behaves alike.
OPEN_ALL_DAY: dict[str, object] = {
    "quiet_hours_start": dt.time(0),
    "quiet_hours_end": dt.time(0),
    "sending_weekdays": "0,1,2,3,4,5,6",
}


def settled() -> bool:
    return not Send.objects.filter(status__in=["queued", "sending"]).exists()


def assert_no_duplicates(sink: Sink) -> None:
    counts = Counter(sink.message_ids())
    assert [mid for mid, n in counts.items() if n > 1] == []


def test_the_drip_from_day_0_to_30_with_a_real_worker(sink: Sink, workers: Workers) -> None:
    campaign = make_drip(**OPEN_ALL_DAY)
    stays, returns, leaves = learners(3)
    workers.start()
    for n in range(31):
        if n == 5:
            Learner.objects.filter(pk=returns.pk).update(last_active_at=day(5, hour=8))
        if n == 2:
            subscriptions.unsubscribe_learner(learner_id=leaves.pk, now=day(2))
        run_pass(now=day(n), hand_over=enqueue_delivery)
        wait_for(settled, what=f"day {n} delivered")
    assert_no_duplicates(sink)
    subjects = Counter((m["To"], m["Subject"].split(":")[0]) for m in sink.messages)
    steps = ["Day 0", "Day 3", "Day 7", "Day 10", "Day 14", "Day 21"]
    assert [s for s in steps if subjects[(stays.email, s)] == 1] == steps
    assert stays.manager is not None
    assert subjects[(stays.manager.email, "Day 7")] == 1
    assert [s for s in steps if subjects[(returns.email, s)]] == ["Day 0", "Day 3"]
    assert [s for s in steps if subjects[(leaves.email, s)]] == ["Day 0"]
    welcome = [m for m in sink.messages if m["Subject"].startswith("Welcome back")]
    assert [m["To"] for m in welcome] == [returns.email]
    handoffs = [m for m in sink.messages if "hasn't returned" in m["Subject"]]
    assert [m["To"] for m in handoffs] == [stays.manager.email]
    # Every learner email carries the RFC 8058 headers; each send's row says it went out.
    for message in sink.messages:
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert Send.objects.filter(campaign=campaign, status="sent").count() == len(sink.messages)


def test_two_workers_and_two_concurrent_passes_never_double_send(
    sink: Sink, workers: Workers
) -> None:
    make_drip(**OPEN_ALL_DAY)
    learners(80)
    workers.start(batch_size=10)
    workers.start(batch_size=10)
    results: list[PassResult] = []

    def pass_at_the_same_moment() -> None:
        try:
            results.append(run_pass(now=day(0), hand_over=enqueue_delivery))
        finally:
            connection.close()

    threads = [threading.Thread(target=pass_at_the_same_moment) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sum(r.sends_created for r in results) == 80
    # The same ids handed over twice more: claims make the extra tasks harmless.
    ids = list(Send.objects.values_list("pk", flat=True))
    enqueue_delivery(ids)
    enqueue_delivery(ids)
    wait_for(lambda: len(sink.messages) >= 80 and settled(), what="80 messages")
    assert_no_duplicates(sink)
    assert len(sink.messages) == 80
    assert Send.objects.filter(status="sent").count() == 80


def test_a_worker_killed_mid_delivery_loses_nothing_and_duplicates_nothing(
    sink: Sink, workers: Workers, settings: object
) -> None:
    settings.DELIVERY_BATCH_SIZE = 20  # type: ignore[attr-defined]
    make_drip(**OPEN_ALL_DAY)
    learners(60)
    sink.hold_after = 25
    doomed = workers.start(batch_size=20, record_every=5)
    run_pass(now=day(0), hand_over=enqueue_delivery)

    def caught_mid_batch() -> bool:
        statuses = Counter(Send.objects.values_list("status", flat=True))
        return statuses["sent"] > 0 and statuses["sending"] > 0 and sink.holding > 0

    wait_for(caught_mid_batch, what="a worker stuck in the middle of a batch")
    workers.kill(doomed)
    sink.hold_after = None
    accepted_before_kill = set(sink.message_ids())
    # At most one slice per worker process was in the ESP's hands; the rest of each batch
    # was never marked and is still queued.
    statuses = Counter(Send.objects.values_list("status", flat=True))
    assert 0 < statuses["sending"] <= 2 * 5
    assert statuses["queued"] > 0

    # Later: the stale rows are reconciled, a new worker and the next pass finish the rest.
    later = timezone.now() + dt.timedelta(hours=1)
    unconfirmed = reconcile_stale(now=later, older_than=STALE_SENDING_AFTER)
    assert unconfirmed == statuses["sending"]
    workers.start(batch_size=20, record_every=5)
    run_pass(now=day(0, hour=10), hand_over=enqueue_delivery)
    wait_for(lambda: settled() and len(sink.messages) >= 60 - unconfirmed, what="the rest")
    assert_no_duplicates(sink)
    statuses = Counter(Send.objects.values_list("status", flat=True))
    assert set(statuses) <= {"sent", "unconfirmed"}
    assert statuses["unconfirmed"] == unconfirmed
    sent_ids = set(Send.objects.filter(status="sent").values_list("message_id", flat=True))
    assert sent_ids <= set(sink.message_ids())

    # Every unconfirmed send is resolvable by its Message-ID: those the ESP (here: the sink)
    # took are marked sent, the others released and delivered once.
    unconfirmed_rows = list(Send.objects.filter(status="unconfirmed"))
    taken = [s.pk for s in unconfirmed_rows if s.message_id in accepted_before_kill]
    lost = [s.pk for s in unconfirmed_rows if s.message_id not in accepted_before_kill]
    assert lost, "the message held when the worker died never reached the ESP"
    resolve = ["--resend", *map(str, lost)] + (["--sent", *map(str, taken)] if taken else [])
    call_command("resolve_unconfirmed", *resolve)
    enqueue_delivery(lost)
    wait_for(lambda: len(sink.messages) == 60 and settled(), what="the released sends")
    assert_no_duplicates(sink)
    assert Send.objects.filter(status="sent").count() == 60
    assert Campaign.objects.count() == 1


def test_a_pass_that_finds_the_lock_taken_does_nothing() -> None:
    make_drip(**OPEN_ALL_DAY)
    learners(3)
    PassLock.objects.create(name=PASS_LOCK_NAME)
    held = threading.Event()
    release = threading.Event()

    def hold_the_lock() -> None:
        try:
            with transaction.atomic():
                PassLock.objects.select_for_update().get(name=PASS_LOCK_NAME)
                held.set()
                release.wait(timeout=30)
        finally:
            connection.close()

    holder = threading.Thread(target=hold_the_lock)
    holder.start()
    assert held.wait(timeout=30)
    try:
        result = run_pass(now=day(0))
    finally:
        release.set()
        holder.join(timeout=30)
    assert result.skipped_locked
    assert not Send.objects.exists()
    assert run_pass(now=day(0)).sends_created == 3
