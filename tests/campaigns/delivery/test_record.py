"""Resolving unconfirmed sends: the operator's command and the admin's actions."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from campaigns.delivery.deliver import deliver_queued
from campaigns.delivery.record import mark_unconfirmed_sent, release_unconfirmed
from campaigns.models import Campaign, Send
from tests.campaigns.conftest import day
from tests.campaigns.delivery.conftest import ids, queued
from tests.factories import staff_user

pytestmark = pytest.mark.django_db


def unconfirmed(n: int) -> list[Send]:
    queued(n)
    Send.objects.update(status="unconfirmed", claimed_at=day(0), message_id="<m@x>")
    return list(Send.objects.order_by("pk"))


def test_the_command_lists_unconfirmed_sends_with_their_message_id(drip: Campaign) -> None:
    first, _second = unconfirmed(2)
    out = StringIO()
    call_command("resolve_unconfirmed", stdout=out)
    lines = out.getvalue().splitlines()
    assert lines[0].split("\t")[:3] == [str(first.pk), first.to_email, "<m@x>"]
    assert lines[-1].startswith("2 unconfirmed. Look each Message-ID up")


def test_the_command_marks_found_ones_sent_and_releases_the_others(
    drip: Campaign, scripted: Any
) -> None:
    found, lost = unconfirmed(2)
    out = StringIO()
    call_command(
        "resolve_unconfirmed", "--sent", str(found.pk), "--resend", str(lost.pk), stdout=out
    )
    assert out.getvalue().strip() == "marked sent: 1; released for resend: 1"
    found.refresh_from_db()
    assert (found.status, found.sent_at) == ("sent", day(0))
    # The released one goes out once more, and only it.
    assert deliver_queued(now=day(0, hour=10)).sent == 1
    assert [m.to for m in scripted.sent] == [[lost.to_email]]


def test_only_unconfirmed_sends_are_resolved(drip: Campaign) -> None:
    queued(2)
    first, second = ids()
    Send.objects.filter(pk=first).update(status="unconfirmed")
    assert mark_unconfirmed_sent(send_ids=[first, second], now=day(1)) == 1
    assert release_unconfirmed(send_ids=[second], now=day(1)) == 0
    assert Send.objects.get(pk=second).status == "queued"


def test_the_admin_actions_resolve_for_approvers_only(drip: Campaign, admin_client: Any) -> None:
    found, lost = unconfirmed(2)
    url = reverse("admin:campaigns_send_changelist")
    viewer = Client()
    viewer.force_login(staff_user("vera", "Viewers"))
    viewer.post(url, {"action": "mark_sent", "_selected_action": [found.pk]})
    assert Send.objects.get(pk=found.pk).status == "unconfirmed"
    admin_client.post(url, {"action": "mark_sent", "_selected_action": [found.pk]})
    admin_client.post(url, {"action": "release_for_resend", "_selected_action": [lost.pk]})
    assert dict(Send.objects.values_list("pk", "status")) == {found.pk: "sent", lost.pk: "queued"}
