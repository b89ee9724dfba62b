"""Awards pushed to a fake LMS: signed, retried with back-off, and applied once by the LMS
under retries and under a worker that dies between the HTTP call and recording it."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from collections.abc import Iterator
from typing import Any
from unittest import mock

import pytest
from django.test import override_settings
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from campaigns.delivery import awards as push
from campaigns.engine.awards import due_pushes, queue_pushes
from campaigns.models import Award, AwardPush, Enrollment
from tests.campaigns.conftest import day, make_drip
from tests.factories import IncentiveFactory, LearnerFactory

pytestmark = pytest.mark.django_db
SECRET = "lms-shared-secret"


class FakeLms:
    """Checks each request's signature and timestamp, and keeps an award once per
    idempotency key, as a careful LMS would; answers with the scripted statuses first."""

    def __init__(self, *statuses: int) -> None:
        self.statuses = list(statuses)
        self.requests: list[dict[str, Any]] = []
        self.awards: dict[str, dict[str, Any]] = {}

    def __call__(self, request: Request) -> Response:
        body = request.get_data()
        timestamp = request.headers["X-Timestamp"]
        expected = hmac.new(SECRET.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
        if not hmac.compare_digest(
            request.headers["X-Signature"], f"sha256={expected.hexdigest()}"
        ):
            return Response("bad signature", status=401)
        key = request.headers["Idempotency-Key"]
        self.requests.append({"key": key, "body": json.loads(body)})
        status = self.statuses.pop(0) if self.statuses else 200
        if status == 200:
            self.awards.setdefault(key, json.loads(body))
        return Response("{}", status=status, content_type="application/json")


@pytest.fixture
def lms(httpserver: HTTPServer) -> Iterator[HTTPServer]:
    with override_settings(
        AWARD_WEBHOOK_URL=httpserver.url_for("/awards"), AWARD_WEBHOOK_SECRET=SECRET
    ):
        yield httpserver


def award() -> Award:
    now = day(0)
    campaign = make_drip()
    learner = LearnerFactory.create(external_id="LMS-1")
    enrollment = Enrollment.objects.create(campaign=campaign, learner=learner, enrolled_at=now)
    send = enrollment.sends.create(
        campaign=campaign,
        learner=learner,
        audience="learner",
        status="sent",
        step=campaign.steps.first(),
        due_at=now,
        created_at=now,
        sent_at=now,
    )
    incentive = IncentiveFactory.create(title="Comeback badge")
    made = Award.objects.create(
        learner=learner,
        enrollment=enrollment,
        incentive=incentive,
        send=send,
        kind="badge",
        title=incentive.title,
        returned_at=now,
        awarded_at=now,
        expires_at=now + dt.timedelta(14),
    )
    assert queue_pushes(now=now) == 1
    return made


def serve(server: HTTPServer, fake: FakeLms) -> None:
    server.expect_request("/awards", method="POST").respond_with_handler(fake)


def test_a_signed_award_is_pushed_once(lms: HTTPServer):
    fake = FakeLms()
    serve(lms, fake)
    made = award()

    first = push.push_awards(push_ids=due_pushes(now=day(0)), now=day(0))
    again = push.push_awards(push_ids=[made.push.pk], now=day(1))

    assert (first.pushed, again.claimed) == (1, 0)
    assert len(fake.requests) == 1
    body = fake.requests[0]["body"]
    assert (body["learner_id"], body["incentive"]["title"], body["award_id"]) == (
        "LMS-1",
        "Comeback badge",
        made.pk,
    )
    assert body["expires_at"].startswith("2026-12-15")
    row = AwardPush.objects.get()
    assert (row.status, row.pushed_at, row.response_status, row.attempts) == (
        "pushed",
        day(0),
        200,
        1,
    )
    assert due_pushes(now=day(2)) == []


def test_a_refusal_is_retried_with_back_off_and_applied_once(lms: HTTPServer):
    fake = FakeLms(503, 503, 200)
    serve(lms, fake)
    made = award()
    start = day(0)

    assert push.push_awards(push_ids=[made.push.pk], now=start).retried == 1
    row = AwardPush.objects.get()
    assert (row.status, row.next_attempt_at) == ("pending", start + dt.timedelta(minutes=1))
    assert "HTTP 503" in row.last_error
    # Not due again before its back-off is over.
    assert due_pushes(now=start + dt.timedelta(seconds=30)) == []
    assert push.push_awards(push_ids=[row.pk], now=start + dt.timedelta(seconds=30)).claimed == 0
    at = start + dt.timedelta(minutes=1)
    assert push.push_awards(push_ids=due_pushes(now=at), now=at).retried == 1
    assert AwardPush.objects.get().next_attempt_at == at + dt.timedelta(minutes=2)
    at += dt.timedelta(minutes=2)
    assert push.push_awards(push_ids=due_pushes(now=at), now=at).pushed == 1

    assert [r["key"] for r in fake.requests] == [f"award-{made.pk}"] * 3
    assert list(fake.awards) == [f"award-{made.pk}"]
    assert AwardPush.objects.get().status == "pushed"


def test_a_worker_dying_after_the_http_call_leaves_it_for_the_pass_and_the_lms_dedupes(
    lms: HTTPServer,
):
    fake = FakeLms()
    serve(lms, fake)
    made = award()

    killed = mock.patch.object(push, "_record", side_effect=SystemExit("worker killed"))
    with killed, pytest.raises(SystemExit):
        push.push_awards(push_ids=[made.push.pk], now=day(0))
    row = AwardPush.objects.get()
    assert (row.status, row.claimed_at) == ("sending", day(0))
    assert len(fake.awards) == 1  # the LMS got it; we never recorded the answer
    # Another worker does not take a push in flight; the pass hands it over once stale.
    assert push.push_awards(push_ids=[row.pk], now=day(0) + dt.timedelta(minutes=1)).claimed == 0
    assert due_pushes(now=day(0) + dt.timedelta(minutes=5)) == []
    later = day(0) + dt.timedelta(minutes=11)
    assert due_pushes(now=later) == [row.pk]

    result = push.push_awards(push_ids=due_pushes(now=later), now=later)

    assert result.pushed == 1
    assert [r["key"] for r in fake.requests] == [f"award-{made.pk}"] * 2
    assert len(fake.awards) == 1
    row.refresh_from_db()
    assert (row.status, row.attempts) == ("pushed", 2)


def test_a_client_error_gives_up_and_says_why(lms: HTTPServer):
    serve(lms, FakeLms(422))
    made = award()
    assert push.push_awards(push_ids=[made.push.pk], now=day(0)).failed == 1
    row = AwardPush.objects.get()
    assert (row.status, row.response_status) == ("failed", 422)
    assert due_pushes(now=day(5)) == []


def test_an_unreachable_lms_is_retried_until_the_limit(lms: HTTPServer):
    made = award()
    with override_settings(
        AWARD_WEBHOOK_URL="http://127.0.0.1:9/awards", AWARD_PUSH_MAX_ATTEMPTS=2
    ):
        assert push.push_awards(push_ids=[made.push.pk], now=day(0)).retried == 1
        at = day(0) + dt.timedelta(minutes=1)
        assert push.push_awards(push_ids=[made.push.pk], now=at).failed == 1
    row = AwardPush.objects.get()
    assert row.status == "failed" and "ConnectionError" in row.last_error


def test_a_wrong_secret_is_refused_by_the_lms(lms: HTTPServer):
    fake = FakeLms()
    serve(lms, fake)
    made = award()
    with override_settings(AWARD_WEBHOOK_SECRET="not-the-lms-secret"):
        assert push.push_awards(push_ids=[made.push.pk], now=day(0)).failed == 1
    assert fake.requests == [] and AwardPush.objects.get().response_status == 401
