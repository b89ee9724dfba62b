"""The weekly digest on Microsoft Teams: one Adaptive Card in the channel of the team all of a
manager's reports are in, with the team's table and both actions, exactly once; the email for
a manager whose reports are in several teams, or in a team without a channel."""

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
from campaigns.delivery.digests import deliver_queued_digests
from campaigns.engine.run import run_pass
from campaigns.models import Campaign, DigestSettings, ManagerDigest
from learners.models import Learner, Manager, TeamChannel
from tests.campaigns.conftest import day
from tests.factories import CourseProgressFactory, LearnerFactory, ManagerFactory

pytestmark = pytest.mark.django_db

HOOK = "https://prod-00.westeurope.logic.azure.com/workflows/abc/triggers/manual/paths/invoke"
MONDAY = day(6)  # Monday 7 December 2026, 09:00 UTC


@pytest.fixture
def teams() -> Iterator[responses.RequestsMock]:
    with (
        responses.RequestsMock(assert_all_requests_are_fired=False) as fake,
        override_settings(EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend"),
    ):
        DigestSettings.objects.create(pk=1, channel="teams")
        TeamChannel.objects.create(team="EMEA", webhook_url=HOOK)
        fake.post(HOOK, status=202)
        yield fake


def run(now: dt.datetime) -> None:
    run_pass(now=now)
    deliver_queued(now=now)
    deliver_queued_digests(now=now)


def reports(manager: Manager, *teams: str) -> list[Learner]:
    people = []
    for index, team in enumerate(teams):
        learner = LearnerFactory.create(
            first_name=f"Pat{index}", last_name="Lee", email=f"pat{index}@example.com",
            manager=manager, team=team, completion_rate=50,
        )  # fmt: skip
        CourseProgressFactory.create(learner=learner, course__title="Data Protection")
        people.append(learner)
    run(day(0))
    return people


def cards(fake: responses.RequestsMock) -> list[dict[str, Any]]:
    found = []
    for call in fake.calls:
        body = call.request.body
        assert isinstance(body, bytes | str)
        payload = json.loads(body)
        card = payload["attachments"][0]["content"]
        if "Your team" in card["body"][0]["text"]:
            found.append(payload)
    return found


def test_the_digest_is_one_card_in_the_teams_channel(
    drip: Campaign, teams: responses.RequestsMock
) -> None:
    alex = ManagerFactory.create(email="alex@example.com", name="Alex Chen", time_zone="UTC")
    first, _ = reports(alex, "EMEA", "EMEA")
    mail.outbox.clear()
    run(MONDAY)

    (payload,) = cards(teams)
    assert payload["type"] == "message"
    (attachment,) = payload["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    card = attachment["content"]
    assert (card["type"], card["version"]) == ("AdaptiveCard", "1.4")
    body = card["body"]
    assert body[0]["text"] == "Your team this week: 2 in a re\\-engagement campaign"
    assert body[1]["text"] == "Team completion rate: 50%"
    rows = [b for b in body if b["type"] == "Container"]
    assert len(rows) == 2
    name, details, sent, actions = rows[0]["items"]
    assert name["text"] == f"Pat0 Lee \\(in {drip.name}\\)"
    assert details["text"].startswith("Data Protection · paused at Module 2: Handling")
    assert sent["text"] == "Sent so far: 2 emails, the last on Monday 7 December"
    talked, note = actions["actions"]
    assert (talked["type"], talked["title"]) == ("Action.OpenUrl", "I've talked to them")
    digest = ManagerDigest.objects.get()
    token = talked["url"].removeprefix(links.absolute("/t/")).rstrip("/")
    assert links.read_token(token, salt=links.SALT_CHECK_IN) == {"d": digest.pk, "l": first.pk}
    assert note["title"] == "Send a note"
    assert note["url"].startswith("mailto:pat0@example.com?subject=Data%20Protection")
    assert "Stop the weekly team digest: https://learn\\.example\\.com/d/" in body[-1]["text"]
    assert (digest.channel, digest.to_address, digest.status) == ("teams", "EMEA", "sent")
    assert [m for m in mail.outbox if m.to == ["alex@example.com"]] == []

    run(MONDAY + dt.timedelta(hours=2))  # exactly once
    assert len(cards(teams)) == 1


@pytest.mark.parametrize("second_team", ["APAC", ""])
def test_reports_in_several_teams_or_no_channel_get_the_email(
    drip: Campaign, teams: responses.RequestsMock, second_team: str
) -> None:
    alex = ManagerFactory.create(email="alex@example.com", name="Alex Chen", time_zone="UTC")
    if second_team:
        reports(alex, "EMEA", second_team)
    else:
        reports(alex, "AMER")  # a team without a Teams channel
    mail.outbox.clear()
    run(MONDAY)
    assert cards(teams) == []
    (email,) = [m for m in mail.outbox if m.to == ["alex@example.com"]]
    assert email.subject.startswith("Your team this week:")
    digest = ManagerDigest.objects.get()
    assert (digest.channel, digest.to_address, digest.status) == ("email", "", "sent")


def test_a_removed_channel_sends_the_digest_by_email(
    drip: Campaign, teams: responses.RequestsMock
) -> None:
    alex = ManagerFactory.create(email="alex@example.com", name="Alex Chen", time_zone="UTC")
    reports(alex, "EMEA")
    run_pass(now=MONDAY)
    assert ManagerDigest.objects.get().channel == "teams"
    TeamChannel.objects.all().delete()
    mail.outbox.clear()
    deliver_queued_digests(now=MONDAY)
    (email,) = [m for m in mail.outbox if m.to == ["alex@example.com"]]
    assert "Pat0 Lee (in " in email.body
    digest = ManagerDigest.objects.get()
    assert (digest.channel, digest.status) == ("email", "sent")
    assert digest.postponed_reason == "by email: no Teams channel for “EMEA”"
    assert cards(teams) == []
