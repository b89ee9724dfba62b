"""Manager nudges by Slack: users.lookupByEmail once per manager (the id kept on the manager),
chat.postMessage with Block Kit blocks and a plain-text fallback, email for managers Slack
does not know, and a rate limit that puts the send back for as long as Retry-After says."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from unittest import mock

import pytest
from django.core import mail
from django.test import override_settings
from pytest_httpserver import HTTPServer
from slack_sdk import WebClient

from campaigns.content import links
from campaigns.delivery.deliver import deliver, deliver_queued
from campaigns.engine.run import run_pass
from campaigns.models import Audience, Channel, Send
from learners.models import Learner, Manager
from tests.campaigns.conftest import day, one_step
from tests.campaigns.delivery.channels.conftest import fixture
from tests.campaigns.engine.helpers import learners
from tests.factories import ManagerFactory

pytestmark = pytest.mark.django_db

TOKEN = "xoxb-test-token"


@pytest.fixture
def slack(httpserver: HTTPServer) -> Iterator[HTTPServer]:
    with override_settings(
        SLACK_BOT_TOKEN=TOKEN,
        SLACK_API_BASE_URL=httpserver.url_for("/api/"),
        EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend",
    ):
        yield httpserver


def nudge_for(manager_email: str = "spengler@ghostbusters.example.com") -> Learner:
    one_step(Channel.SLACK, Audience.MANAGER)
    manager = ManagerFactory.create(email=manager_email, name="Egon Spengler")
    (learner,) = learners(1, manager=manager, first_name="Ray")
    run_pass(now=day(0))
    return learner


def posts(server: HTTPServer, method: str) -> list[dict[str, object]]:
    found = []
    for request, _response in server.log:
        if request.path == f"/api/{method}":
            assert request.headers["Authorization"] == f"Bearer {TOKEN}"
            found.append(request.get_json() if request.is_json else dict(request.values))
    return found


def test_a_nudge_is_looked_up_posted_as_blocks_and_recorded(slack: HTTPServer) -> None:
    slack.expect_request("/api/users.lookupByEmail").respond_with_json(
        fixture("slack", "users.lookupByEmail.json")
    )
    slack.expect_request("/api/chat.postMessage", method="POST").respond_with_json(
        fixture("slack", "chat.postMessage.json")
    )
    learner = nudge_for()
    result = deliver_queued(now=day(0))
    assert (result.sent, result.failed) == (1, 0)
    assert posts(slack, "users.lookupByEmail") == [{"email": "spengler@ghostbusters.example.com"}]
    (post,) = posts(slack, "chat.postMessage")
    assert post["channel"] == "W012A3CDE"
    assert str(post["text"]).startswith(f"{learner.first_name} paused")
    blocks = post["blocks"]
    assert isinstance(blocks, list)
    assert [b["type"] for b in blocks] == ["header", "section", "section", "actions", "context"]
    course = learner.progress.get().course.title
    assert blocks[0]["text"] == {
        "type": "plain_text",
        "text": f"Ray paused {course}",
        "emoji": False,
    }
    button = blocks[3]["elements"][0]
    assert button["text"]["text"] == "Send Ray a note"
    send = Send.objects.get()
    token = button["url"].removeprefix(links.absolute("/c/")).rstrip("/")
    assert links.read_token(token, salt=links.SALT_CLICK) == {"s": send.pk}
    assert send.destination_url.startswith(f"mailto:{learner.email}?subject=")
    assert (send.status, send.channel, send.to_address) == ("sent", "slack", "W012A3CDE")
    assert send.esp_message_id == "D024BE91L:1503435956.000247"
    assert Manager.objects.get().slack_user_id == "W012A3CDE"
    assert mail.outbox == []


def test_a_known_slack_id_is_not_looked_up_again(slack: HTTPServer) -> None:
    slack.expect_request("/api/chat.postMessage").respond_with_json(
        fixture("slack", "chat.postMessage.json")
    )
    one_step(Channel.SLACK, Audience.MANAGER)
    learners(2, manager=ManagerFactory.create(slack_user_id="W012A3CDE"))
    run_pass(now=day(0))
    assert deliver_queued(now=day(0)).sent == 2
    assert posts(slack, "users.lookupByEmail") == []
    assert [p["channel"] for p in posts(slack, "chat.postMessage")] == ["W012A3CDE"] * 2


def test_a_manager_slack_does_not_know_gets_the_email_instead(slack: HTTPServer) -> None:
    slack.expect_request("/api/users.lookupByEmail").respond_with_json(
        fixture("slack", "users.lookupByEmail.users_not_found.json")
    )
    learner = nudge_for("newcomer@example.com")
    first = deliver(send_ids=list(Send.objects.values_list("pk", flat=True)), now=day(0))
    assert (first.fallbacks, first.sent) == (1, 0)
    send = Send.objects.get()
    assert (send.status, send.channel, send.attempts) == ("queued", "email", 0)
    assert send.postponed_reason == "by email: Slack knows no user newcomer@example.com"
    assert Manager.objects.get().slack_not_found_at == day(0)
    # The next delivery sends it as the manager email.
    assert deliver_queued(now=day(0)).sent == 1
    (email,) = mail.outbox
    assert email.to == ["newcomer@example.com"]
    assert email.subject == f"{learner.first_name} paused {learner.progress.get().course.title}"
    assert posts(slack, "chat.postMessage") == []
    # Later nudges for this manager go by email from the start.
    one_step(Channel.SLACK, Audience.MANAGER)
    other = learners(1, manager=Manager.objects.get())[0]
    run_pass(now=day(1))
    assert Send.objects.get(learner=other).channel == "email"


def test_a_rate_limit_puts_the_send_back_for_retry_after(slack: HTTPServer) -> None:
    one_step(Channel.SLACK, Audience.MANAGER)
    learners(3, manager=ManagerFactory.create(slack_user_id="W012A3CDE"))
    run_pass(now=day(0))
    slack.expect_oneshot_request("/api/chat.postMessage").respond_with_json(
        fixture("slack", "chat.postMessage.ratelimited.json"),
        status=429,
        headers={"Retry-After": "30"},
    )
    ids = list(Send.objects.order_by("pk").values_list("pk", flat=True))
    result = deliver(send_ids=ids, now=day(0))
    assert (result.sent, result.retried) == (0, 3)
    # One call, then nothing more until Slack's time is up: no sleeping in the worker.
    assert len(posts(slack, "chat.postMessage")) == 1
    first, *rest = Send.objects.order_by("pk")
    later = day(0) + dt.timedelta(seconds=30)
    assert (first.status, first.attempts, first.due_at) == ("scheduled", 1, later)
    assert first.last_error == "rate limited by Slack: retry after 0:00:30"
    assert first.postponed_reason == "the provider asked to wait (rate limit)"
    assert [(s.status, s.attempts, s.due_at) for s in rest] == [("scheduled", 0, later)] * 2
    # Nothing is taken before the time is up …
    assert deliver_queued(now=day(0) + dt.timedelta(seconds=10)).claimed == 0
    assert run_pass(now=day(0) + dt.timedelta(seconds=10)).queued == 0
    # … then the next pass releases them and each goes out once.
    slack.clear_log()
    slack.clear_all_handlers()
    slack.expect_request("/api/chat.postMessage").respond_with_json(
        fixture("slack", "chat.postMessage.json")
    )
    assert run_pass(now=later).queued == 3
    assert deliver_queued(now=later).sent == 3
    assert len(posts(slack, "chat.postMessage")) == 3
    assert set(Send.objects.values_list("status", flat=True)) == {"sent"}


def test_a_refused_token_fails_the_send_with_slacks_error(slack: HTTPServer) -> None:
    slack.expect_request("/api/chat.postMessage").respond_with_json(
        fixture("slack", "chat.postMessage.invalid_auth.json")
    )
    one_step(Channel.SLACK, Audience.MANAGER)
    learners(1, manager=ManagerFactory.create(slack_user_id="W012A3CDE"))
    run_pass(now=day(0))
    assert deliver_queued(now=day(0)).failed == 1
    send = Send.objects.get()
    assert (send.status, send.last_error) == ("failed", "Slack: invalid_auth")


def test_a_post_that_broke_off_stays_unconfirmed_and_is_not_resent(slack: HTTPServer) -> None:
    one_step(Channel.SLACK, Audience.MANAGER)
    learners(1, manager=ManagerFactory.create(slack_user_id="W012A3CDE"))
    run_pass(now=day(0))
    # The read timed out: Slack may have posted it.
    timed_out = mock.patch.object(
        WebClient, "chat_postMessage", side_effect=TimeoutError("The read operation timed out")
    )
    with timed_out as post:
        assert deliver_queued(now=day(0)).unconfirmed == 1
        assert deliver_queued(now=day(0, hour=10)).claimed == 0
    assert post.call_count == 1
    send = Send.objects.get()
    assert (send.status, send.last_error) == (
        "unconfirmed",
        "TimeoutError: The read operation timed out",
    )


def test_the_blocks_carry_text_never_markup(slack: HTTPServer) -> None:
    slack.expect_request("/api/chat.postMessage").respond_with_json(
        fixture("slack", "chat.postMessage.json")
    )
    one_step(Channel.SLACK, Audience.MANAGER)
    learners(1, manager=ManagerFactory.create(slack_user_id="W1"), first_name="<!channel>")
    run_pass(now=day(0))
    deliver_queued(now=day(0))
    (post,) = posts(slack, "chat.postMessage")
    blocks = post["blocks"]
    assert isinstance(blocks, list)
    texts = [b["text"] for b in blocks if "text" in b]
    assert all(t["type"] == "plain_text" for t in texts)
    assert json.dumps(blocks).count("<!channel>") >= 1
