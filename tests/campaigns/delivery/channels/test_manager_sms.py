"""Manager nudges by text message: to a manager with a number and SMS consent, first names
only and the link that opens the note to the learner, exactly once; the email for managers
without consent; STOP from the manager's number, and Twilio's opt-out error, stop their texts
and nothing else."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core import mail
from pytest_httpserver import HTTPServer

from campaigns.content import links, sms
from campaigns.delivery.deliver import deliver_queued
from campaigns.engine.run import run_pass
from campaigns.models import Audience, Channel, Send
from learners.models import Learner, Manager, PreferenceChange
from tests.campaigns.conftest import day, one_step
from tests.campaigns.delivery.channels.conftest import fixture
from tests.campaigns.delivery.channels.test_sms import MESSAGES, created, post_signed, twilio
from tests.campaigns.engine.helpers import learners
from tests.factories import ManagerFactory

__all__ = ["twilio"]  # the fixture

pytestmark = pytest.mark.django_db

MANAGER_NUMBER = "+447911123456"
CONSENTED = day(-30)
MANAGER_TEXT = "Hi {{ manager_first_name }}, {{ first_name }} paused their course. Send a note:"


def nudged(*, consent: dt.datetime | None = CONSENTED) -> tuple[Learner, Manager]:
    step = one_step(Channel.SMS, Audience.MANAGER)
    step.manager_sms_body = MANAGER_TEXT
    step.save()
    manager = ManagerFactory.create(
        name="Egon Spengler", email="egon@example.com", phone=MANAGER_NUMBER,
        sms_consent_at=consent,
    )  # fmt: skip
    (learner,) = learners(1, manager=manager, first_name="Ray")
    run_pass(now=day(0))
    return learner, manager


def test_the_manager_gets_one_text_with_first_names_and_the_note_link(twilio: HTTPServer) -> None:
    twilio.expect_request(MESSAGES, method="POST").respond_with_json(
        fixture("twilio", "message.created.json"), status=201
    )
    learner, manager = nudged()
    assert deliver_queued(now=day(0)).sent == 1
    assert deliver_queued(now=day(0)).claimed == 0
    (request,) = created(twilio)
    send = Send.objects.get()
    assert request["To"] == MANAGER_NUMBER
    body = request["Body"]
    assert body.startswith(
        f"Hi Egon, Ray paused their course. Send a note: {links.absolute('/c/')}"
    )
    assert body.endswith("\nReply STOP to opt out.") and sms.segments(body) <= 2
    for personal in ("Spengler", learner.last_name, learner.email, manager.email):
        assert personal not in body
    token = body.split(links.absolute("/c/"))[1].split("/")[0]
    assert links.read_token(token, salt=links.SALT_CLICK) == {"s": send.pk}
    assert send.destination_url.startswith(f"mailto:{learner.email}?subject=")
    assert (send.audience, send.channel, send.to_address, send.status) == (
        "manager", "sms", MANAGER_NUMBER, "sent",
    )  # fmt: skip
    assert mail.outbox == []


def test_a_manager_without_sms_consent_gets_the_email(twilio: HTTPServer) -> None:
    nudged(consent=None)
    send = Send.objects.get()
    assert (send.channel, send.to_email) == ("email", "egon@example.com")
    assert deliver_queued(now=day(0)).sent == 1
    (email,) = mail.outbox
    assert email.to == ["egon@example.com"] and email.subject.startswith("Ray paused")
    assert created(twilio) == []


def test_stop_from_the_managers_number_stops_their_texts_only(twilio: HTTPServer) -> None:
    _, manager = nudged()
    inbound = {**fixture("twilio", "inbound.stop.json"), "From": MANAGER_NUMBER}
    assert post_signed("/twilio/inbound/", inbound).status_code == 200
    manager.refresh_from_db()
    assert manager.sms_opted_out_at is not None and manager.nudges_opted_out_at is None
    change = PreferenceChange.objects.get(manager=manager)
    assert (change.detail, change.source) == ("sms off", "text_reply")
    # The nudge the pass had queued goes by email instead.
    result = deliver_queued(now=day(0))
    assert (result.fallbacks, result.sent) == (1, 1)
    assert Send.objects.get().channel == "email"
    assert created(twilio) == []
    assert [m.to for m in mail.outbox] == [["egon@example.com"]]


def test_twilios_opt_out_error_opts_the_manager_out(twilio: HTTPServer) -> None:
    twilio.expect_request(MESSAGES).respond_with_json(
        fixture("twilio", "error.21610.json"), status=400
    )
    learner, manager = nudged()
    deliver_queued(now=day(0))
    assert Send.objects.get().status == "failed"
    manager.refresh_from_db()
    learner.refresh_from_db()
    assert manager.sms_opted_out_at == day(0)
    assert learner.sms_opted_out_at is None
