"""Clicks on the tracked redirect: a person's counts, a machine's is kept but flagged."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone

from campaigns.content import links
from campaigns.models import Campaign, Click, Send
from tests.campaigns.feedback.conftest import make_send
from tests.factories import LearnerFactory

pytestmark = pytest.mark.django_db
BROWSER = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)


@pytest.fixture
def send(campaign: Campaign) -> Send:
    send = make_send(
        learner=LearnerFactory.create(),
        campaign=campaign,
        sent_at=timezone.now() - dt.timedelta(hours=1),
    )
    Send.objects.filter(pk=send.pk).update(destination_url="https://lms.example.com/resume")
    return send


def path(send: Send) -> str:
    return links.click_url(send.pk).removeprefix("https://learn.example.com")


@pytest.mark.parametrize(
    ("method", "agent", "reason"),
    [
        ("HEAD", BROWSER, "HEAD request"),
        (
            "GET",
            "Mozilla/5.0 (compatible; proofpoint URL defense)",
            "scanner user agent (proofpoint)",
        ),
        ("GET", "python-requests/2.32.3", "scanner user agent (python-requests)"),
    ],
)
def test_an_automated_click_is_kept_flagged_and_not_counted(
    client: Client, send: Send, method: str, agent: str, reason: str
) -> None:
    response = getattr(client, method.lower())(path(send), headers={"User-Agent": agent})
    assert response.status_code == 302
    click = Click.objects.get()
    assert (click.is_automated, click.automated_reason, click.method) == (True, reason, method)
    send.refresh_from_db()
    assert (send.clicked_at, send.click_count) == (None, 0)


def test_a_click_seconds_after_sending_is_a_scanners(client: Client, send: Send) -> None:
    Send.objects.filter(pk=send.pk).update(sent_at=timezone.now() - dt.timedelta(seconds=2))
    client.get(path(send), headers={"User-Agent": BROWSER})
    assert Click.objects.get().automated_reason == "within 10 seconds of delivery"


def test_a_persons_click_counts(client: Client, send: Send) -> None:
    response = client.get(path(send), headers={"User-Agent": BROWSER})
    assert response["Location"] == "https://lms.example.com/resume"
    send.refresh_from_db()
    assert send.click_count == 1 and send.clicked_at is not None
    assert Click.objects.get().is_automated is False
