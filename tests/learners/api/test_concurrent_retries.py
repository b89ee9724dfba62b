"""Two deliveries of the same batch at the same moment (an LMS retrying after a timeout) report
what each really did: one stored the events, the other found them already there."""

from __future__ import annotations

import datetime as dt
import threading
import time

import pytest
from django.db import connection, connections, transaction

from learners.activity import BatchResult, record_events
from learners.models import ActivityEvent, Learner
from tests.factories import LearnerFactory
from tests.learners.conftest import NOW

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

BATCH = [
    {
        "event_id": f"E{number}",
        "learner_id": "L1",
        "kind": "login",
        "occurred_at": (NOW - dt.timedelta(minutes=number)).isoformat(),
    }
    for number in range(50)
]


def waiting_on_a_lock(*, seconds: float = 20.0) -> bool:
    """Whether another backend is blocked on a lock (the second retry's INSERT waiting for the
    first's transaction), polled until ``seconds`` have passed."""
    deadline = time.monotonic() + seconds
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE wait_event_type = 'Lock' AND datname = current_database()"
            )
            if cursor.fetchone()[0]:
                return True
            time.sleep(0.02)
    return False


def test_concurrent_retries_of_one_batch_report_accepted_and_duplicates_truthfully():
    LearnerFactory.create(external_id="L1", last_active_at=None)
    results: dict[str, BatchResult] = {}
    first_inserted = threading.Event()
    commit_first = threading.Event()

    def first() -> None:
        try:
            with transaction.atomic():
                results["first"] = record_events(payload=BATCH, now=NOW)
                first_inserted.set()
                # Held open so that the retry checks for the events before they are visible.
                commit_first.wait(timeout=30)
        finally:
            connections.close_all()

    def retry() -> None:
        try:
            first_inserted.wait(timeout=30)
            results["retry"] = record_events(payload=BATCH, now=NOW)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=first), threading.Thread(target=retry)]
    for thread in threads:
        thread.start()
    first_inserted.wait(timeout=30)
    assert waiting_on_a_lock(), "the retry never reached the insert"
    commit_first.set()
    for thread in threads:
        thread.join(timeout=30)

    assert (results["first"].accepted, results["first"].duplicates) == (50, 0)
    assert (results["retry"].accepted, results["retry"].duplicates) == (0, 50)
    assert results["retry"].errors == []
    assert ActivityEvent.objects.count() == 50
    assert Learner.objects.get().last_active_at == NOW
