"""Manager nudges to a team's Teams channel: an Adaptive Card posted to the team's Workflows
webhook (https, kept per team), exactly once; a removed channel sends the email instead; a
rate limit waits for Retry-After; a refusal fails the send with the answer."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from typing import Any

import pytest
import responses
from django.core import mail
from django.test import override_settings

from campaigns.content import links
from campaigns.delivery.deliver import deliver_queued
from campaigns.engine.run import run_pass
from campaigns.models import Audience, Channel, Send
from learners.models import Learner, TeamChannel
from tests.campaigns.conftest import day, one_step
from tests.campaigns.delivery.channels.conftest import fixture
from tests.campaigns.engine.helpers import learners

pytestmark = pytest.mark.django_db

HOOK = "https://prod-00.westeurope.logic.azure.com/workflows/abc/triggers/manual/paths/invoke"


@pytest.fixture
def teams() -> Iterator[responses.RequestsMock]:
    with (
        responses.RequestsMock() as fake,
        override_settings(EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend"),
    ):
        yield fake


def nudged(n: int = 1) -> list[Learner]:
    TeamChannel.objects.create(team="EMEA", webhook_url=HOOK)
    one_step(Channel.TEAMS, Audience.MANAGER)
    people = learners(n, team="EMEA", first_name="Ray")
    run_pass(now=day(0))
    return people


def bodies(fake: responses.RequestsMock) -> list[dict[str, Any]]:
    found = []
    for call in fake.calls:
        body = call.request.body
        assert isinstance(body, bytes | str)
        found.append(json.loads(body))
    return found


def test_the_card_is_posted_once_in_the_documented_shape(teams: responses.RequestsMock) -> None:
    teams.post(HOOK, status=202)
    (learner,) = nudged()
    assert deliver_queued(now=day(0)).sent == 1
    assert deliver_queued(now=day(0)).claimed == 0
    (body,) = bodies(teams)
    expected = fixture("teams", "message.adaptive_card.json")
    assert body.keys() == expected.keys() and body["type"] == "message"
    (attachment,) = body["attachments"]
    assert attachment.keys() == expected["attachments"][0].keys()
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    card = attachment["content"]
    assert {k: card[k] for k in ("$schema", "type", "version")} == {
        k: expected["attachments"][0]["content"][k] for k in ("$schema", "type", "version")
    }
    course = learner.progress.get().course.title
    assert card["body"][0] == {
        "type": "TextBlock",
        "text": f"Ray paused {course}",
        "wrap": True,
        "weight": "Bolder",
        "size": "Medium",
    }
    assert card["body"][1]["text"] == "Ray has not been back for a while\\."
    (action,) = card["actions"]
    assert (action["type"], action["title"]) == ("Action.OpenUrl", "Send Ray a note")
    send = Send.objects.get()
    token = action["url"].removeprefix(links.absolute("/c/")).rstrip("/")
    assert links.read_token(token, salt=links.SALT_CLICK) == {"s": send.pk}
    assert (send.status, send.channel, send.to_address) == ("sent", "teams", "EMEA")
    assert mail.outbox == []


def test_a_team_whose_channel_was_removed_gets_the_email(teams: responses.RequestsMock) -> None:
    nudged()
    TeamChannel.objects.all().delete()
    result = deliver_queued(now=day(0))
    assert (result.fallbacks, result.sent) == (1, 1)
    send = Send.objects.get()
    assert (send.channel, send.status) == ("email", "sent")
    assert len(mail.outbox) == 1 and not teams.calls


def test_a_rate_limit_waits_for_retry_after(teams: responses.RequestsMock) -> None:
    teams.post(HOOK, status=429, headers={"Retry-After": "120"})
    nudged(2)
    assert deliver_queued(now=day(0)).retried == 2
    assert len(teams.calls) == 1
    later = day(0) + dt.timedelta(seconds=120)
    assert [(s.status, s.due_at) for s in Send.objects.order_by("pk")] == [("scheduled", later)] * 2


def test_a_refused_card_fails_the_send_with_the_answer(teams: responses.RequestsMock) -> None:
    teams.post(HOOK, status=400, json=fixture("teams", "error.invalid_request.json"))
    nudged()
    assert deliver_queued(now=day(0)).failed == 1
    send = Send.objects.get()
    assert send.status == "failed"
    assert send.last_error.startswith("Teams webhook answered 400: ")
    assert "TriggerInputSchemaMismatch" in send.last_error


def test_markdown_in_names_is_shown_as_typed(teams: responses.RequestsMock) -> None:
    teams.post(HOOK, status=202)
    TeamChannel.objects.create(team="EMEA", webhook_url=HOOK)
    one_step(Channel.TEAMS, Audience.MANAGER)
    learners(1, team="EMEA", first_name="[Ray](https://evil.example)")
    run_pass(now=day(0))
    deliver_queued(now=day(0))
    (body,) = bodies(teams)
    title = body["attachments"][0]["content"]["body"][0]["text"]
    assert title.startswith("\\[Ray\\]\\(https://evil\\.example\\) paused")
