"""The weekly digest by text message: the team's counts and a link to the digest's page (no
report's name in the text), exactly once, to managers with a number and SMS consent; the page
shows the table with both actions; the email for managers without consent."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.core import mail
from django.test import Client
from pytest_httpserver import HTTPServer

from campaigns.content import links, sms
from campaigns.delivery.deliver import deliver_queued
from campaigns.delivery.digests import deliver_queued_digests
from campaigns.engine.run import run_pass
from campaigns.models import Campaign, DigestSettings, ManagerDigest
from learners.models import Manager
from tests.campaigns.conftest import day
from tests.campaigns.delivery.channels.conftest import fixture
from tests.campaigns.delivery.channels.test_sms import MESSAGES, created, twilio
from tests.factories import CourseProgressFactory, LearnerFactory, ManagerFactory

__all__ = ["twilio"]  # the fixture

pytestmark = pytest.mark.django_db

MONDAY = day(6)  # Monday 7 December 2026, 09:00 UTC
NUMBER = "+447911123456"
CONSENTED = day(-30)


def run(now: dt.datetime) -> None:
    run_pass(now=now)
    deliver_queued(now=now)
    deliver_queued_digests(now=now)


def team(*, consent: dt.datetime | None = CONSENTED) -> Manager:
    DigestSettings.objects.create(pk=1, channel="sms")
    alex = ManagerFactory.create(
        email="alex@example.com", name="Alex Chen", time_zone="UTC", phone=NUMBER,
        sms_consent_at=consent,
    )  # fmt: skip
    for first, last in (("Sam", "Rivera"), ("Kim", "O'Neil")):
        learner = LearnerFactory.create(
            first_name=first, last_name=last, email=f"{first.lower()}@example.com",
            manager=alex, completion_rate=50,
        )  # fmt: skip
        CourseProgressFactory.create(learner=learner, course__title="Data Protection")
    run(day(0))
    return alex


def test_the_digest_text_has_the_counts_and_the_link_to_its_page(
    drip: Campaign, twilio: HTTPServer
) -> None:
    twilio.expect_request(MESSAGES, method="POST").respond_with_json(
        fixture("twilio", "message.created.json"), status=201
    )
    team()
    mail.outbox.clear()
    run(MONDAY)
    (request,) = [r for r in created(twilio) if r["To"] == NUMBER]
    digest = ManagerDigest.objects.get()
    body = request["Body"]
    match = re.fullmatch(
        r"Hi Alex, your team this week: 2 in a re-engagement campaign\. Team completion rate: "
        r"50%\. See them and act: (https://learn\.example\.com/w/([^/]+)/)\nReply STOP to opt "
        r"out\.",
        body,
    )
    assert match, body
    assert links.read_token(match.group(2), salt=links.SALT_DIGEST_PAGE) == {"d": digest.pk}
    assert sms.segments(body) <= 2
    for personal in ("Sam", "Kim", "Rivera", "Chen", "Data Protection"):
        assert personal not in body
    assert "StatusCallback" not in request  # callbacks name sends
    assert (digest.channel, digest.to_address, digest.status) == ("sms", NUMBER, "sent")
    assert digest.esp_message_id == "SM1f0e8ae6ade43cb3c0ce4525424e404f"
    assert [m for m in mail.outbox if m.to == ["alex@example.com"]] == []
    run(MONDAY + dt.timedelta(hours=2))  # exactly once
    assert len([r for r in created(twilio) if r["To"] == NUMBER]) == 1

    page = Client().get(match.group(1).removeprefix("https://learn.example.com"))
    assert page.status_code == 200
    assert page["Cache-Control"].startswith("max-age=0") or "no-store" in page["Cache-Control"]
    text = page.content.decode()
    assert "<h1>Your team this week: 2 in a re-engagement campaign</h1>" in text
    assert "Team completion rate: 50%" in text
    assert "Sam Rivera" in text and "Kim O&#x27;Neil" in text
    assert text.count(">I've talked to them</a>") == 2 and text.count(">Send a note</a>") == 2
    assert 'href="mailto:sam@example.com?subject=Data%20Protection' in text
    check_in = re.search(r'href="(/t/[^"]+/)">I\'ve talked to them', text)
    assert check_in
    token = check_in.group(1).removeprefix("/t/").rstrip("/")
    assert links.read_token(token, salt=links.SALT_CHECK_IN)["d"] == digest.pk


def test_a_forged_page_link_is_the_invalid_link_page(drip: Campaign) -> None:
    forged = links.digest_page_url(digest_id=1)[:-4] + "xx/"
    page = Client().get(forged.removeprefix("https://learn.example.com"))
    assert page.status_code == 404
    foreign = links.check_in_url(digest_id=1, learner_id=1).replace("/t/", "/w/")
    assert Client().get(foreign.removeprefix("https://learn.example.com")).status_code == 404


def test_a_manager_without_sms_consent_gets_the_email(drip: Campaign, twilio: HTTPServer) -> None:
    team(consent=None)
    mail.outbox.clear()
    run(MONDAY)
    (email,) = [m for m in mail.outbox if m.to == ["alex@example.com"]]
    assert "Sam Rivera (in " in email.body
    assert ManagerDigest.objects.get().channel == "email"
    assert created(twilio) == []


def test_consent_withdrawn_after_the_pass_sends_the_email(
    drip: Campaign, twilio: HTTPServer
) -> None:
    alex = team()
    run_pass(now=MONDAY)
    Manager.objects.filter(pk=alex.pk).update(sms_opted_out_at=MONDAY)
    mail.outbox.clear()
    deliver_queued_digests(now=MONDAY)
    assert [m.to for m in mail.outbox] == [["alex@example.com"]]
    digest = ManagerDigest.objects.get()
    assert (digest.channel, digest.status) == ("email", "sent")
    assert digest.postponed_reason == "by email: no SMS consent any more"
    assert created(twilio) == []
