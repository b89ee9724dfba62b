"""The weekly digest by Slack: a direct message with the team's table as Block Kit sections
and "I've talked to them" as a button, exactly once; the email for a manager Slack does not
know and for a team too large for one message; a rate limit that holds the digest for as long
as Retry-After says."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from django.core import mail
from django.test import Client, override_settings
from pytest_httpserver import HTTPServer

from campaigns.content import chat, links
from campaigns.delivery.deliver import deliver_queued
from campaigns.delivery.digests import deliver_queued_digests
from campaigns.engine.run import run_pass
from campaigns.models import Campaign, DigestSettings, Enrollment, ManagerDigest
from learners.models import Learner, Manager
from tests.campaigns.conftest import day
from tests.campaigns.delivery.channels.conftest import fixture
from tests.factories import CourseProgressFactory, LearnerFactory, ManagerFactory

pytestmark = pytest.mark.django_db

TOKEN = "xoxb-test-token"
MONDAY = day(6)  # Monday 7 December 2026, 09:00 UTC


@pytest.fixture
def slack(httpserver: HTTPServer) -> Iterator[HTTPServer]:
    with override_settings(
        SLACK_BOT_TOKEN=TOKEN,
        SLACK_API_BASE_URL=httpserver.url_for("/api/"),
        EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend",
    ):
        DigestSettings.objects.create(pk=1, channel="slack")
        yield httpserver


def run(now: dt.datetime) -> None:
    run_pass(now=now)
    deliver_queued(now=now)
    deliver_queued_digests(now=now)


def team_of(manager: Manager, *names: str) -> list[Learner]:
    """Reports of ``manager`` in the drip, two steps in by Monday."""
    reports = []
    for index, name in enumerate(names):
        first, last = name.split(" ", 1)
        learner = LearnerFactory.create(
            first_name=first, last_name=last, email=f"{first.lower()}{index}@example.com",
            manager=manager, completion_rate=40,
        )  # fmt: skip
        CourseProgressFactory.create(learner=learner, course__title="Data Protection")
        reports.append(learner)
    run(day(0))
    run(day(3))
    return reports


def posts(server: HTTPServer, method: str) -> list[dict[str, Any]]:
    found = []
    for request, _response in server.log:
        if request.path == f"/api/{method}":
            assert request.headers["Authorization"] == f"Bearer {TOKEN}"
            found.append(request.get_json() if request.is_json else dict(request.values))
    return found


def digest_posts(server: HTTPServer) -> list[dict[str, Any]]:
    return [p for p in posts(server, "chat.postMessage") if "Your team" in str(p["text"])]


def test_the_digest_is_one_slack_dm_with_the_table_and_both_actions(
    drip: Campaign, slack: HTTPServer
) -> None:
    slack.expect_request("/api/users.lookupByEmail").respond_with_json(
        fixture("slack", "users.lookupByEmail.json")
    )
    slack.expect_request("/api/chat.postMessage", method="POST").respond_with_json(
        fixture("slack", "chat.postMessage.json")
    )
    alex = ManagerFactory.create(email="alex@example.com", name="Alex Chen", time_zone="UTC")
    sam, kim = team_of(alex, "Sam Rivera", "Kim <!channel> & Co")
    mail.outbox.clear()
    run(MONDAY)

    (post,) = digest_posts(slack)
    assert post["channel"] == "W012A3CDE"
    assert post["text"].startswith("Your team this week: 2 in a re-engagement campaign\n")
    blocks = post["blocks"]
    assert [b["type"] for b in blocks] == [
        "header", "section", "section", "section", "context", "context",
    ]  # fmt: skip
    assert blocks[1]["text"]["text"] == "Team completion rate: 40%"
    kim_row, sam_row = blocks[2], blocks[3]  # by last name: "<!channel> & Co", then Rivera
    assert sam_row["text"]["type"] == "mrkdwn"
    assert sam_row["text"]["text"].startswith(
        f"*Sam Rivera* (in {drip.name})\n"
        "Data Protection · paused at Module 2: Handling personal data · 51 days inactive · "
        "40% done\nSent so far: 2 emails, the last on Friday 4 December · "
        "<mailto:sam0@example.com?subject=Data%20Protection&amp;body=Hi%20Sam%2C"
    )
    assert sam_row["text"]["text"].endswith("|Send a note>")
    # A name is text, never a mention or a link.
    assert kim_row["text"]["text"].startswith("*Kim &lt;!channel&gt; &amp; Co* (in Win back")
    button = sam_row["accessory"]
    assert button["type"] == "button" and button["text"]["text"] == "I've talked to them"
    token = button["url"].removeprefix(links.absolute("/t/")).rstrip("/")
    digest = ManagerDigest.objects.get()
    assert links.read_token(token, salt=links.SALT_CHECK_IN) == {"d": digest.pk, "l": sam.pk}
    assert blocks[4]["elements"][0]["text"] == (
        "“I've talked to them” pauses their reminders for 7 days."
    )
    assert blocks[5]["elements"][0]["text"].startswith(
        "Stop the weekly team digest: https://learn.example.com/d/"
    )
    assert (digest.channel, digest.status, digest.to_address) == ("slack", "sent", "W012A3CDE")
    assert digest.esp_message_id == "D024BE91L:1503435956.000247"
    assert digest.subject == "Your team this week: 2 in a re-engagement campaign"
    assert Manager.objects.get().slack_user_id == "W012A3CDE"
    assert [m for m in mail.outbox if m.to == ["alex@example.com"]] == []

    # Exactly once: later passes that day and delivery again post nothing more.
    run(MONDAY + dt.timedelta(hours=3))
    assert len(digest_posts(slack)) == 1
    assert len(posts(slack, "users.lookupByEmail")) == 1

    # The button's page pauses Sam's reminders, as from the email.
    page = Client().post(button["url"].removeprefix("https://learn.example.com"))
    assert page.status_code == 200
    assert Enrollment.objects.get(learner=sam).check_ins.count() == 1
    assert not Enrollment.objects.get(learner=kim).check_ins.exists()


def test_a_manager_slack_does_not_know_gets_the_digest_by_email(
    drip: Campaign, slack: HTTPServer
) -> None:
    slack.expect_request("/api/users.lookupByEmail").respond_with_json(
        fixture("slack", "users.lookupByEmail.users_not_found.json")
    )
    alex = ManagerFactory.create(email="alex@example.com", name="Alex Chen", time_zone="UTC")
    team_of(alex, "Sam Rivera")
    mail.outbox.clear()
    run(MONDAY)
    (email,) = [m for m in mail.outbox if m.to == ["alex@example.com"]]
    assert email.subject == "Your team this week: 1 in a re-engagement campaign"
    assert "Sam Rivera (in Win back" in email.body
    digest = ManagerDigest.objects.get()
    assert (digest.channel, digest.status, digest.attempts) == ("email", "sent", 1)
    assert digest.postponed_reason == "by email: Slack knows no user alex@example.com"
    assert digest_posts(slack) == []
    # Next week it is created as an email at once: Slack is not asked again.
    run(MONDAY + dt.timedelta(days=7))
    assert len(posts(slack, "users.lookupByEmail")) == 1
    assert ManagerDigest.objects.order_by("week_of").last().channel == "email"  # type: ignore[union-attr]


def test_a_team_too_large_for_one_slack_message_gets_the_email(
    drip: Campaign, slack: HTTPServer
) -> None:
    alex = ManagerFactory.create(
        email="alex@example.com", name="Alex Chen", time_zone="UTC", slack_user_id="W012A3CDE"
    )
    team_of(alex, *[f"Report {n:02d}" for n in range(chat.SLACK_DIGEST_MAX_REPORTS + 1)])
    mail.outbox.clear()
    run(MONDAY)
    (email,) = [m for m in mail.outbox if m.to == ["alex@example.com"]]
    assert email.body.count("I've talked to them") == chat.SLACK_DIGEST_MAX_REPORTS + 1
    digest = ManagerDigest.objects.get()
    assert (digest.channel, digest.status, digest.to_address) == ("email", "sent", "")
    assert digest.postponed_reason == (
        "by email: 47 reports do not fit in one Slack message (at most 46)"
    )
    assert digest_posts(slack) == []


def test_a_rate_limit_holds_the_digest_until_retry_after(drip: Campaign, slack: HTTPServer) -> None:
    alex = ManagerFactory.create(
        email="alex@example.com", name="Alex Chen", time_zone="UTC", slack_user_id="W012A3CDE"
    )
    team_of(alex, "Sam Rivera")
    slack.expect_oneshot_request("/api/chat.postMessage").respond_with_json(
        fixture("slack", "chat.postMessage.ratelimited.json"),
        status=429,
        headers={"Retry-After": "120"},
    )
    run(MONDAY)
    digest = ManagerDigest.objects.get()
    assert (digest.status, digest.due_at) == ("queued", MONDAY + dt.timedelta(seconds=120))
    assert digest.postponed_reason == "the provider asked to wait (rate limit)"
    assert "rate limited by Slack: retry after 0:02:00" in digest.last_error
    # Not before then, whoever asks; then once.
    run(MONDAY + dt.timedelta(seconds=60))
    assert len(posts(slack, "chat.postMessage")) == 1
    slack.expect_request("/api/chat.postMessage").respond_with_json(
        fixture("slack", "chat.postMessage.json")
    )
    run(MONDAY + dt.timedelta(seconds=120))
    digest.refresh_from_db()
    assert (digest.status, digest.attempts) == ("sent", 2)
    assert len(digest_posts(slack)) == 2  # the refused post and the one that went
