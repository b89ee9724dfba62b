"""Delivery without Celery: claim, re-check, render, send over one connection, record."""

from __future__ import annotations

import datetime as dt
import smtplib
from typing import Any
from unittest import mock

import pytest
from anymail.exceptions import AnymailAPIError, AnymailRecipientsRefused
from django.core import mail
from django.core.mail import BadHeaderError
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from campaigns.delivery.claim import claim, mark_sending
from campaigns.delivery.deliver import deliver, deliver_queued
from campaigns.delivery.outcomes import MAX_ATTEMPTS, DeliveryResult, backoff
from campaigns.delivery.record import confirm_sent, reconcile_stale
from campaigns.delivery.transmit import MAX_ERRORS_IN_A_ROW, NOT_ATTEMPTED
from campaigns.engine.release import hand_over_stale
from campaigns.engine.run import run_pass
from campaigns.models import Campaign, Send
from learners.models import Learner
from tests.campaigns.conftest import day
from tests.campaigns.delivery.conftest import WorkerKilled, ids, queued
from tests.factories import CourseProgressFactory, LearnerFactory

pytestmark = pytest.mark.django_db


def test_it_sends_each_queued_send_once_and_records_it(drip: Campaign) -> None:
    (learner,) = queued(1)
    with override_settings(EMAIL_BACKEND="anymail.backends.test.EmailBackend"):
        result = deliver(send_ids=ids(), now=day(0))
        again = deliver(send_ids=ids(), now=day(0))
    assert (result.claimed, result.sent, again.claimed) == (1, 1, 0)
    (message,) = mail.outbox
    send = Send.objects.get()
    assert send.status == "sent" and send.sent_at == day(0) and send.attempts == 1
    assert message.to == [learner.email]
    assert message.subject == send.subject == f"Day 0: {learner.first_name}, your course is waiting"
    assert message.extra_headers["Message-ID"] == send.message_id
    assert send.message_id.startswith(f"<send-{send.pk}.")
    assert getattr(message, "metadata", None) == {"send_id": str(send.pk)}
    # The test ESP's own id is stored for its tracking events.
    assert send.esp_message_id == str(getattr(message, "anymail_status").message_id)  # noqa: B009
    progress = learner.progress.get()
    assert send.destination_url.startswith(progress.resume_url + "?utm_source=reengagement")
    assert "utm_content=step1" in send.destination_url


def test_a_batch_goes_over_one_connection(drip: Campaign, scripted: Any) -> None:
    queued(5)
    result = deliver(send_ids=ids(), now=day(0))
    assert (result.sent, scripted.opened, len(scripted.sent)) == (5, 1, 5)


def test_queries_of_a_batch_do_not_grow_with_its_size(drip: Campaign, scripted: Any) -> None:
    queued(12)
    all_ids = ids()
    with CaptureQueriesContext(connection) as small:
        deliver(send_ids=all_ids[:3], now=day(0))
    with CaptureQueriesContext(connection) as large:
        deliver(send_ids=all_ids[3:], now=day(0))
    assert len(small) == len(large)


def test_a_temporary_refusal_goes_back_to_the_queue_with_a_back_off(
    drip: Campaign, scripted: Any
) -> None:
    flaky, _fine = queued(2)
    scripted.errors[flaky.email] = AnymailAPIError("busy", status_code=503)
    result = deliver(send_ids=ids(), now=day(0))
    assert (result.sent, result.retried) == (1, 1)
    send = Send.objects.get(learner=flaky)
    assert (send.status, send.attempts, send.enqueued_at) == ("queued", 1, None)
    assert send.due_at == day(0) + backoff(1)
    assert "busy" in send.last_error
    # Not before its time; then by the next pass's hand-over.
    assert deliver_queued(now=day(0) + dt.timedelta(minutes=1)).claimed == 0
    assert hand_over_stale(now=send.due_at) == [send.pk]
    del scripted.errors[flaky.email]
    assert deliver(send_ids=[send.pk], now=send.due_at).sent == 1


def test_it_gives_up_after_the_last_attempt(drip: Campaign, scripted: Any) -> None:
    (learner,) = queued(1)
    scripted.errors[learner.email] = smtplib.SMTPDataError(451, b"try later")
    Send.objects.update(attempts=MAX_ATTEMPTS - 1)
    assert deliver(send_ids=ids(), now=day(0)).failed == 1
    send = Send.objects.get()
    assert send.status == "failed"
    assert send.last_error.startswith(f"gave up after {MAX_ATTEMPTS} attempts")


def test_a_permanent_error_fails_that_send_only(drip: Campaign, scripted: Any) -> None:
    bad, good = queued(2)
    scripted.errors[bad.email] = AnymailRecipientsRefused("rejected")
    result = deliver(send_ids=ids(), now=day(0))
    assert (result.sent, result.failed) == (1, 1)
    failed = Send.objects.get(learner=bad)
    assert (failed.status, "rejected" in failed.last_error) == ("failed", True)
    assert Send.objects.get(learner=good).status == "sent"


def test_a_call_that_broke_off_is_unconfirmed_never_resent(drip: Campaign, scripted: Any) -> None:
    (learner,) = queued(1)
    scripted.errors[learner.email] = TimeoutError("read timed out")
    assert deliver(send_ids=ids(), now=day(0)).unconfirmed == 1
    assert Send.objects.get().status == "unconfirmed"
    assert deliver_queued(now=day(1)).claimed == 0
    run_pass(now=day(1))
    assert deliver_queued(now=day(1)).claimed == 0
    # A delivery event from the ESP can still confirm it.
    assert confirm_sent(send_ids=ids(), now=day(0), esp_message_id="esp-1") == 1
    assert Send.objects.get().status == "sent"


def test_an_unreachable_esp_puts_the_whole_batch_back(drip: Campaign, scripted: Any) -> None:
    queued(3)
    scripted.fail_open = ConnectionRefusedError("no ESP")
    result = deliver(send_ids=ids(), now=day(0))
    assert (result.claimed, result.retried) == (3, 3)
    assert set(Send.objects.values_list("status", flat=True)) == {"queued"}


def test_it_stops_after_errors_in_a_row_and_leaves_the_rest_queued(
    drip: Campaign, scripted: Any
) -> None:
    people = queued(6)
    for learner in people:
        scripted.errors[learner.email] = AnymailAPIError("down", status_code=502)
    result = deliver(send_ids=ids(), now=day(0))
    assert result.retried == 6
    assert len(scripted.sent) == 0
    # Three calls to the ESP, then the other three go back to the queue untried.
    assert scripted.calls == MAX_ERRORS_IN_A_ROW == 3
    untried = Send.objects.filter(last_error=NOT_ATTEMPTED, status="queued")
    assert list(untried.values_list("attempts", flat=True)) == [0, 0, 0]


def test_it_rechecks_at_claim_time(drip: Campaign, scripted: Any) -> None:
    unsubscribed, suppressed, opted_in = queued(3)
    Learner.objects.filter(pk=unsubscribed.pk).update(unsubscribed_at=day(0))
    Learner.objects.filter(pk=suppressed.pk).update(suppressed_at=day(0))
    result = deliver(send_ids=ids(), now=day(0))
    assert (result.sent, result.skipped) == (1, 2)
    reasons = dict(Send.objects.values_list("learner_id", "skip_reason"))
    assert reasons == {
        unsubscribed.pk: "learner unsubscribed",
        suppressed.pk: "address suppressed",
        opted_in.pk: "",
    }


def test_a_send_another_worker_holds_is_left_alone(drip: Campaign, scripted: Any) -> None:
    queued(1)
    Send.objects.update(status="sending")
    assert deliver(send_ids=ids(), now=day(0)).claimed == 0
    assert scripted.sent == []


def test_reconcile_marks_only_old_sending_rows(drip: Campaign) -> None:
    queued(2)
    first, second = ids()
    Send.objects.filter(pk=first).update(status="sending", claimed_at=day(0))
    Send.objects.filter(pk=second).update(status="sending", claimed_at=day(0, hour=10))
    count = reconcile_stale(now=day(0, hour=10), older_than=dt.timedelta(minutes=15))
    assert count == 1
    assert dict(Send.objects.values_list("pk", "status")) == {
        first: "unconfirmed",
        second: "sending",
    }


def test_a_released_send_is_taken_whatever_the_workers_clock_says(
    drip: Campaign, scripted: Any
) -> None:
    queued(2)
    # Released by a pass running "in the future" (an operator's --now), not yet tried.
    Send.objects.update(enqueued_at=None, due_at=day(5))
    assert deliver(send_ids=ids(), now=day(0)).sent == 2


def test_a_worker_killed_mid_batch_leaves_one_slice_unconfirmed_and_the_rest_queued(
    drip: Campaign, scripted: Any, settings: Any
) -> None:
    settings.DELIVERY_RECORD_EVERY = 3
    queued(10)
    scripted.killed_after = 7  # dies handing over the 8th message
    with pytest.raises(WorkerKilled):
        deliver(send_ids=ids(), now=day(0))
    statuses = list(Send.objects.order_by("pk").values_list("status", flat=True))
    # Two slices recorded sent, the third was in the ESP's hands (7 sent, 8 and 9 not tried
    # yet but marked), the tenth never marked: it is still queued for the next worker.
    assert statuses == ["sent"] * 6 + ["sending"] * 3 + ["queued"]
    assert reconcile_stale(now=day(0, hour=10)) == 3
    scripted.killed_after = None  # the next worker
    assert deliver_queued(now=day(0, hour=10)).sent == 1
    assert Send.objects.filter(status="unconfirmed").count() == 3


def test_a_retry_that_falls_in_quiet_hours_waits_for_the_morning(
    drip: Campaign, scripted: Any
) -> None:
    tokyo = LearnerFactory.create(time_zone="Asia/Tokyo")
    CourseProgressFactory.create(learner=tokyo)
    run_pass(now=day(0, hour=1))  # 10:00 in Tokyo: released
    send = Send.objects.get()
    # Back from a back-off at 17:00 UTC, which is 02:00 in Tokyo.
    Send.objects.filter(pk=send.pk).update(attempts=1, enqueued_at=None, due_at=day(0, hour=16))
    result = deliver(send_ids=[send.pk], now=day(0, hour=17))
    assert (result.sent, result.postponed) == (0, 1)
    assert scripted.sent == []
    send.refresh_from_db()
    assert send.status == "scheduled"
    assert send.due_at == day(0, hour=23)  # 08:00 the next morning in Tokyo
    assert send.postponed_reason


def test_a_message_that_cannot_be_built_fails_with_its_reason(
    drip: Campaign, scripted: Any
) -> None:
    queued(2)
    Campaign.objects.filter(pk=drip.pk).update(from_name="Learning\r\nBcc: everyone@example.com")
    result = deliver(send_ids=ids(), now=day(0))
    assert (result.failed, result.unconfirmed, scripted.calls) == (2, 0, 0)
    assert set(Send.objects.values_list("status", "last_error")) == {
        ("failed", "could not be built: the From header contains a line break")
    }


def test_a_header_the_backend_refuses_is_failed_not_unconfirmed(drip: Campaign) -> None:
    queued(1)
    with mock.patch(
        "django.core.mail.backends.locmem.EmailBackend.send_messages",
        side_effect=BadHeaderError("Header values can't contain newlines"),
    ):
        result = deliver(send_ids=ids(), now=day(0))
    assert (result.failed, result.unconfirmed) == (1, 0)
    assert Send.objects.get().last_error.startswith("could not be built: BadHeaderError")


def test_only_the_rows_a_worker_still_owns_are_sent(drip: Campaign, scripted: Any) -> None:
    queued(3)
    first, second, third = ids()
    result = DeliveryResult()
    ready = claim([first, second, third], day(0), result)
    # Another worker took the second send between the claim and the hand-over.
    Send.objects.filter(pk=second).update(status="sending")
    owned = mark_sending(ready, day(0))
    assert [item.send.pk for item in owned] == [first, third]
