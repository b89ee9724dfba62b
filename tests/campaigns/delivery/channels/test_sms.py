"""Text messages through Twilio: the Messages API request as Twilio documents it (against a
local fake), exactly one per send, Twilio's refusals, and the signed webhooks (status
callbacks, STOP) that update the send and the learner."""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import pytest
from django.test import Client, override_settings
from pytest_httpserver import HTTPServer
from twilio.request_validator import RequestValidator

from campaigns.content import links, sms
from campaigns.delivery.deliver import deliver_queued
from campaigns.delivery.record import reconcile_stale
from campaigns.engine.run import run_pass
from campaigns.feedback.apply import apply_pending
from campaigns.models import Channel, EspEvent, Send
from learners.models import Learner, PreferenceChange
from tests.campaigns.conftest import day, one_step
from tests.campaigns.delivery.channels.conftest import fixture
from tests.campaigns.engine.helpers import learners
from tests.factories import LearnerFactory

pytestmark = pytest.mark.django_db

SID = "ACXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX"
TOKEN = "twilio-auth-token"
SENDER = "+15017122661"
NUMBER = "+4915112345678"
MESSAGES = f"/2010-04-01/Accounts/{SID}/Messages.json"


@pytest.fixture
def twilio(httpserver: HTTPServer) -> Iterator[HTTPServer]:
    with override_settings(
        TWILIO_ACCOUNT_SID=SID,
        TWILIO_AUTH_TOKEN=TOKEN,
        TWILIO_FROM=SENDER,
        TWILIO_API_BASE_URL=httpserver.url_for("/").rstrip("/"),
        EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend",
    ):
        yield httpserver


def texted(first_name: str = "Ray") -> Learner:
    one_step(Channel.SMS)
    (learner,) = learners(1, first_name=first_name, phone=NUMBER, sms_consent_at=day(-30))
    run_pass(now=day(0))
    return learner


def created(server: HTTPServer) -> list[dict[str, str]]:
    found = []
    for request, _response in server.log:
        if request.path == MESSAGES:
            basic = base64.b64encode(f"{SID}:{TOKEN}".encode()).decode()
            assert request.headers["Authorization"] == f"Basic {basic}"
            found.append(dict(request.form))
    return found


def test_a_text_is_created_once_with_the_documented_request(twilio: HTTPServer) -> None:
    twilio.expect_request(MESSAGES, method="POST").respond_with_json(
        fixture("twilio", "message.created.json"), status=201
    )
    learner = texted()
    assert deliver_queued(now=day(0)).sent == 1
    assert deliver_queued(now=day(0)).claimed == 0
    (request,) = created(twilio)
    send = Send.objects.get()
    assert request["To"] == NUMBER and request["From"] == SENDER
    assert request["StatusCallback"] == links.absolute(f"/twilio/status/?send={send.pk}")
    body = request["Body"]
    assert body.startswith(
        f"Hi {learner.first_name}, your course is waiting: {links.absolute('/c/')}"
    )
    assert body.endswith("\nReply STOP to opt out.")
    assert sms.segments(body) <= 2
    # First name only: no last name, email or course in the text.
    for personal in (learner.last_name, learner.email, learner.progress.get().course.title):
        assert personal not in body
    assert (send.status, send.channel, send.to_address) == ("sent", "sms", NUMBER)
    assert send.esp_message_id == "SM1f0e8ae6ade43cb3c0ce4525424e404f"


def test_a_refused_number_fails_the_send_with_twilios_error(twilio: HTTPServer) -> None:
    twilio.expect_request(MESSAGES).respond_with_json(
        fixture("twilio", "error.21211.json"), status=400
    )
    texted()
    assert deliver_queued(now=day(0)).failed == 1
    send = Send.objects.get()
    assert send.status == "failed"
    assert send.last_error.startswith("Twilio 400 error 21211: Unable to create record: Invalid")


def test_a_number_that_opted_out_at_twilio_is_opted_out_here(twilio: HTTPServer) -> None:
    twilio.expect_request(MESSAGES).respond_with_json(
        fixture("twilio", "error.21610.json"), status=400
    )
    learner = texted()
    deliver_queued(now=day(0))
    assert Send.objects.get().status == "failed"
    learner.refresh_from_db()
    assert learner.sms_opted_out_at == day(0)
    assert learner.unsubscribed_at is None  # email is another channel


def test_too_many_requests_or_a_twilio_outage_is_retried_later(twilio: HTTPServer) -> None:
    twilio.expect_oneshot_request(MESSAGES).respond_with_json(
        fixture("twilio", "error.20429.json"), status=429
    )
    texted()
    assert deliver_queued(now=day(0)).retried == 1
    send = Send.objects.get()
    assert (send.status, send.attempts) == ("queued", 1)
    assert send.due_at == day(0) + dt.timedelta(minutes=2)
    twilio.expect_request(MESSAGES).respond_with_json(
        fixture("twilio", "message.created.json"), status=201
    )
    assert deliver_queued(now=day(0) + dt.timedelta(minutes=3)).sent == 1
    assert len(created(twilio)) == 2


def test_a_crash_mid_call_is_confirmed_by_the_signed_status_callback(twilio: HTTPServer) -> None:
    texted()
    send = Send.objects.get()
    # The worker died after marking the send: reconcile calls it unconfirmed, never resends.
    Send.objects.filter(pk=send.pk).update(status="sending", claimed_at=day(0), attempts=1)
    assert reconcile_stale(now=day(0) + dt.timedelta(hours=1)) == 1
    assert deliver_queued(now=day(0, hour=11)).claimed == 0
    response = post_signed(
        f"/twilio/status/?send={send.pk}", fixture("twilio", "status.delivered.json")
    )
    assert response.status_code == 204
    apply_pending(now=day(0, hour=11))
    send.refresh_from_db()
    assert send.status == "sent"
    assert send.esp_message_id == "SM1f0e8ae6ade43cb3c0ce4525424e404f"
    assert send.delivered_at is not None
    assert created(twilio) == []


def post_signed(path: str, params: dict[str, str], *, signature: str | None = None) -> Any:
    url = links.absolute(path)
    if signature is None:
        signature = RequestValidator(TOKEN).compute_signature(url, params)
    headers = {"X-Twilio-Signature": signature} if signature else {}
    return Client().post(
        path, urlencode(params), content_type="application/x-www-form-urlencoded", headers=headers
    )


def sent_text(twilio: HTTPServer) -> Send:
    twilio.expect_request(MESSAGES).respond_with_json(
        fixture("twilio", "message.created.json"), status=201
    )
    texted()
    deliver_queued(now=day(0))
    return Send.objects.get()


def test_an_undelivered_callback_fails_the_send(twilio: HTTPServer) -> None:
    send = sent_text(twilio)
    params = fixture("twilio", "status.undelivered.json")
    assert post_signed(f"/twilio/status/?send={send.pk}", params).status_code == 204
    send.refresh_from_db()
    assert (send.status, send.last_error) == ("failed", "Twilio: undelivered (error 30003)")
    # A replay stores nothing new.
    post_signed(f"/twilio/status/?send={send.pk}", params)
    assert EspEvent.objects.filter(esp="twilio").count() == 1


@pytest.mark.parametrize(
    "signature", ["", "bm90IHRoZSBzaWduYXR1cmU=", "tampered"], ids=["missing", "bad", "tampered"]
)
def test_an_unsigned_or_wrongly_signed_callback_is_refused_and_changes_nothing(
    twilio: HTTPServer, signature: str
) -> None:
    send = sent_text(twilio)
    params = fixture("twilio", "status.undelivered.json")
    path = f"/twilio/status/?send={send.pk}"
    if signature == "tampered":
        # Signed for another send: the id is part of what Twilio signs.
        signature = RequestValidator(TOKEN).compute_signature(
            links.absolute(f"/twilio/status/?send={send.pk + 1}"), params
        )
    response = post_signed(path, params, signature=signature)
    assert response.status_code == 403
    send.refresh_from_db()
    assert send.status == "sent"
    assert not EspEvent.objects.exists()
    stop = post_signed(
        "/twilio/inbound/", fixture("twilio", "inbound.stop.json"), signature=signature or ""
    )
    assert stop.status_code == 403
    assert Learner.objects.get().sms_opted_out_at is None


def test_stop_opts_the_number_out_and_the_next_step_goes_by_email(twilio: HTTPServer) -> None:
    send = sent_text(twilio)
    response = post_signed("/twilio/inbound/", fixture("twilio", "inbound.stop.json"))
    assert response.status_code == 200
    assert response["Content-Type"] == "text/xml"
    assert response.content.decode().endswith("<Response></Response>")
    learner = Learner.objects.get()
    assert learner.sms_opted_out_at is not None and learner.unsubscribed_at is None
    # A later SMS step reaches this learner by email.
    second = one_step(Channel.SMS)
    second.campaign.priority = 1
    Send.objects.filter(pk=send.pk).delete()
    learner.enrollments.all().delete()
    run_pass(now=day(1))
    assert Send.objects.get().channel == "email"


def test_start_after_stop_lets_texts_in_again_and_both_are_on_the_timeline(
    twilio: HTTPServer,
) -> None:
    sent_text(twilio)
    stop = post_signed("/twilio/inbound/", fixture("twilio", "inbound.stop.json"))
    assert stop.status_code == 200
    assert Learner.objects.get().sms_opted_out_at is not None
    start = post_signed("/twilio/inbound/", fixture("twilio", "inbound.start.json"))
    assert start.status_code == 200
    assert start.content.decode().endswith("<Response></Response>")
    learner = Learner.objects.get()
    assert learner.sms_opted_out_at is None and learner.sms_consent_at is not None
    changes = PreferenceChange.objects.filter(learner=learner).order_by("at", "pk")
    assert [(c.detail, c.source) for c in changes] == [
        ("sms off", "text_reply"),
        ("sms on", "text_reply"),
    ]
    assert EspEvent.objects.get(description="opt-in").outcome == "text messages on again"
    # Twilio retrying the same START changes nothing more.
    post_signed("/twilio/inbound/", fixture("twilio", "inbound.start.json"))
    assert PreferenceChange.objects.filter(learner=learner).count() == 2


def test_start_does_not_give_consent_nobody_gave(twilio: HTTPServer) -> None:
    learner = LearnerFactory.create(phone="+4915112345678", sms_consent_at=None)
    response = post_signed("/twilio/inbound/", fixture("twilio", "inbound.start.json"))
    assert response.status_code == 200
    learner.refresh_from_db()
    assert learner.sms_consent_at is None
    assert not PreferenceChange.objects.exists()


def test_a_consent_withdrawn_after_the_pass_sends_the_email_instead(twilio: HTTPServer) -> None:
    learner = texted()
    Learner.objects.filter(pk=learner.pk).update(sms_opted_out_at=day(0))
    result = deliver_queued(now=day(0))
    assert (result.fallbacks, result.sent) == (1, 1)
    send = Send.objects.get()
    assert (send.channel, send.status, send.to_email) == ("email", "sent", learner.email)
    assert created(twilio) == []


def test_quiet_hours_hold_a_text_at_delivery_too(twilio: HTTPServer) -> None:
    texted()
    Learner.objects.update(time_zone="America/Los_Angeles")
    result = deliver_queued(now=day(0))
    assert result.postponed == 1
    send = Send.objects.get()
    assert (send.status, send.postponed_reason) == ("scheduled", "quiet hours")
    assert created(twilio) == []


def test_a_number_changed_since_the_pass_gets_the_text(twilio: HTTPServer) -> None:
    twilio.expect_request(MESSAGES).respond_with_json(
        fixture("twilio", "message.created.json"), status=201
    )
    learner = texted()
    Learner.objects.filter(pk=learner.pk).update(phone="+4915199999999")
    assert deliver_queued(now=day(0)).sent == 1
    (request,) = created(twilio)
    assert request["To"] == "+4915199999999"
    assert Send.objects.get().to_address == "+4915199999999"


def test_the_learners_timeline_says_the_text_went_by_sms(twilio: HTTPServer) -> None:
    from campaigns.feedback.timeline import learner_timeline

    send = sent_text(twilio)
    (entry,) = [e for e in learner_timeline(learner=send.learner) if e.kind == "send"]
    assert entry.detail.startswith(f"“{send.subject}” by SMS to {NUMBER}")
