"""Contact channels in the admin: a Teams channel's webhook is https only, a learner's number
is stored in E.164, the SMS opt-out is shown but not editable."""

from __future__ import annotations

import html

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from learners.models import Learner, TeamChannel
from tests.factories import LearnerFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client: Client) -> Client:
    client.force_login(User.objects.create_superuser("root", "root@example.com", "pw"))
    return client


def test_a_teams_webhook_must_be_https(admin_client: Client) -> None:
    url = reverse("admin:learners_teamchannel_add")
    refused = admin_client.post(
        url, {"team": "EMEA", "webhook_url": "http://example.webhook.office.com/hook"}
    )
    assert refused.status_code == 200
    assert "The webhook URL must start with https://." in refused.content.decode()
    assert not TeamChannel.objects.exists()
    # Typed without a scheme, it means https.
    admin_client.post(url, {"team": "EMEA", "webhook_url": "example.webhook.office.com/hook"})
    assert TeamChannel.objects.get().webhook_url == "https://example.webhook.office.com/hook"


def test_a_number_typed_by_staff_is_stored_in_e164(admin_client: Client) -> None:
    learner = LearnerFactory.create(manager=None)
    url = reverse("admin:learners_learner_change", args=[learner.pk])
    page = admin_client.get(url).content.decode()
    assert 'name="sms_opted_out_at"' not in page  # written only by a STOP or Twilio
    data = {
        "external_id": learner.external_id,
        "email": learner.email,
        "first_name": learner.first_name,
        "last_name": learner.last_name,
        "role": learner.role,
        "team": learner.team,
        "time_zone": "UTC",
        "locale": "en",
        "phone": "+49 (151) 1234-5678",
    }
    assert admin_client.post(url, data).status_code == 302
    assert Learner.objects.get().phone == "+4915112345678"
    bad = admin_client.post(url, {**data, "phone": "555"})
    assert "“555” is not a phone number; write it with its country code" in html.unescape(
        bad.content.decode()
    )
