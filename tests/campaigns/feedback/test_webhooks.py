"""Real ESP payloads (tests/fixtures/esp/<esp>/) through anymail's own tracking views: stored,
applied, and ending in the right send and learner state — once, or replayed 50 times in any
order. Wrong or missing credentials are refused and store nothing."""

from __future__ import annotations

import random
from typing import Any

import pytest
from django.test import Client

from campaigns.feedback import apply
from campaigns.models import Campaign, Enrollment, EspEvent, Send, SuppressedAddress
from learners.models import Learner
from tests.campaigns.feedback.conftest import (
    ESPS,
    SECRETS,
    basic,
    fixture_names,
    load,
    post,
    scenario_sends,
)
from tests.factories import NOW

pytestmark = [
    pytest.mark.usefixtures("webhooks"),
    # anymail still ships and tests its SendGrid webhook; it only warns that it is unsupported.
    pytest.mark.filterwarnings("ignore::anymail.exceptions.AnymailNotSupportedWarning"),
]

TIMES = ["delivered_at", "opened_at", "clicked_at", "bounced_at", "complained_at"]
CASES = [
    (esp, name)
    for esp in ESPS
    for name in fixture_names(esp)
    if "recipient" in load(esp, name)["expect"]
]


def _state(sends: dict[str, Send]) -> list[Any]:
    """Everything an event can change, for comparing two histories."""
    rows: list[Any] = []
    for name, send in sorted(sends.items()):
        send.refresh_from_db()
        learner = Learner.objects.get(pk=send.learner_id)
        rows.append(
            (
                name,
                send.status,
                *(getattr(send, t) for t in TIMES),
                learner.suppressed_at,
                learner.suppression_reason,
                sorted(Enrollment.objects.filter(learner=learner).values_list("status", flat=True)),
            )
        )
    rows.append(sorted(SuppressedAddress.objects.values_list("address", "reason", "suppressed_at")))
    return rows


def _check(esp: str, name: str, send: Send) -> None:
    expect = load(esp, name)["expect"]
    send.refresh_from_db()
    learner = Learner.objects.get(pk=send.learner_id)
    set_times = {t for t in TIMES if getattr(send, t) is not None}
    assert set_times == set(expect["send"]), f"{esp}/{name}: {set_times}"
    assert send.status == Send.Status.SENT, f"{esp}/{name}"
    events = EspEvent.objects.filter(send=send)
    assert events and all(e.applied_at is not None for e in events)
    if "classification" in expect:
        assert {e.classification for e in events} == {expect["classification"]}, f"{esp}/{name}"
    if "status_code" in expect:
        assert {e.status_code for e in events} == {expect["status_code"]}, f"{esp}/{name}"
    if expect.get("machine"):
        assert all(e.is_machine for e in events)
    reason = expect.get("suppressed")
    assert (learner.suppression_reason or None) == reason, f"{esp}/{name}"
    assert (learner.suppressed_at is not None) == bool(reason)
    if reason == "complaint":
        assert not Enrollment.objects.filter(learner=learner, status="active").exists()


@pytest.mark.parametrize(("esp", "name"), CASES)
def test_each_fixture_ends_in_the_right_state(
    client: Client, campaign: Campaign, esp: str, name: str
) -> None:
    sends = scenario_sends(esp, campaign)
    response = post(client, esp, name)
    assert response.status_code == 200, response.content
    assert EspEvent.objects.filter(applied_at__isnull=True).exists()
    apply.apply_pending(now=NOW)
    _check(esp, name, sends[name])


@pytest.mark.parametrize("esp", ESPS)
def test_replaying_every_fixture_50_times_shuffled_ends_in_the_same_state(
    client: Client, campaign: Campaign, esp: str
) -> None:
    sends = scenario_sends(esp, campaign)
    names = [n for n in fixture_names(esp) if n in sends]
    for name in names:
        assert post(client, esp, name).status_code == 200
    apply.apply_pending(now=NOW)
    once, stored = _state(sends), EspEvent.objects.count()
    assert all(e.applied_at for e in EspEvent.objects.all())

    posts = names * 50
    random.Random(esp).shuffle(posts)
    for index, name in enumerate(posts):
        assert post(client, esp, name, auth=SECRETS[index % 2]).status_code == 200
        if index % 37 == 0:
            apply.apply_pending(now=NOW)
    apply.apply_pending(now=NOW)
    assert EspEvent.objects.count() == stored
    assert _state(sends) == once


@pytest.mark.parametrize("esp", ESPS)
@pytest.mark.parametrize(
    ("auth", "status"), [(None, 401), ("hooks:wrong", 403), ("nobody:new-secret-2026", 403)]
)
def test_wrong_or_missing_credentials_are_refused_and_store_nothing(
    client: Client, campaign: Campaign, esp: str, auth: str | None, status: int
) -> None:
    name = next(n for n in fixture_names(esp) if "recipient" in load(esp, n)["expect"])
    response = post(client, esp, name, auth=auth)
    assert response.status_code == status
    assert EspEvent.objects.count() == 0


@pytest.mark.parametrize("esp", ["mailgun", "resend"])
def test_a_bad_esp_signature_is_refused_even_with_the_right_basic_auth(
    client: Client, campaign: Campaign, esp: str
) -> None:
    name = fixture_names(esp)[0]
    if esp == "mailgun":
        response = post(client, esp, name, mailgun_key="not-the-key")
    else:
        fixture = load(esp, name)
        response = client.post(
            "/anymail/resend/tracking/",
            data=fixture["body"],
            content_type="application/json",
            headers={"svix-id": "x", "svix-timestamp": "1", "svix-signature": "v1,AAAA"},
            HTTP_AUTHORIZATION=basic(SECRETS[0]),
        )
    assert response.status_code == 403
    assert EspEvent.objects.count() == 0


def test_the_old_secret_still_works_while_rotating(client: Client, campaign: Campaign) -> None:
    scenario_sends("postmark", campaign)
    assert post(client, "postmark", "delivery", auth=SECRETS[1]).status_code == 200
    assert EspEvent.objects.count() == 1
