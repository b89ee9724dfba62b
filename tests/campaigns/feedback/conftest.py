"""ESP webhook helpers: fixture payloads posted the way each ESP posts them (its headers, its
signature), and sends for them to land on."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
from pathlib import Path
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client, override_settings

from campaigns.models import Campaign, Enrollment, Send
from learners.models import Learner
from tests.factories import NOW, CampaignFactory, LearnerFactory

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "esp"
ESPS = ["amazon_ses", "postmark", "mailgun", "sendgrid", "brevo", "resend", "sparkpost", "mailjet"]
SECRETS = ["hooks:new-secret-2026", "hooks:old-secret-2025"]
MAILGUN_KEY = "mailgun-webhook-signing-key"
RESEND_SECRET = "whsec_" + base64.b64encode(b"resend-signing-secret-for-tests").decode()
SES_TOPIC = "arn:aws:sns:us-east-1:1234567890:SES_Events"
ANYMAIL_SETTINGS = {
    "WEBHOOK_SECRET": SECRETS,
    "MAILGUN_WEBHOOK_SIGNING_KEY": MAILGUN_KEY,
    "RESEND_SIGNING_SECRET": RESEND_SECRET,
    "AMAZON_SES_SESSION_PARAMS": {
        "aws_access_key_id": "test-key",
        "aws_secret_access_key": "test-secret",
    },
}


def basic(credentials: str) -> str:
    return "Basic " + base64.b64encode(credentials.encode()).decode()


def load(esp: str, name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / esp / f"{name}.json").read_text())


def fixture_names(esp: str) -> list[str]:
    return sorted(p.stem for p in (FIXTURES / esp).glob("*.json"))


def _signed(esp: str, fixture: dict[str, Any], mailgun_key: str) -> tuple[str, dict[str, str]]:
    body = fixture["body"]
    headers = dict(fixture["headers"])
    if esp == "mailgun":
        signature = body["signature"]
        signature["signature"] = hmac.new(
            mailgun_key.encode(),
            f"{signature['timestamp']}{signature['token']}".encode(),
            hashlib.sha256,
        ).hexdigest()
    data = json.dumps(body)
    if esp == "amazon_ses":
        headers["x-amz-sns-message-id"] = body["MessageId"]
        headers["x-amz-sns-message-type"] = body["Type"]
    if esp == "resend":
        from svix.webhooks import Webhook

        at = dt.datetime.now(tz=dt.UTC)
        headers["svix-timestamp"] = str(int(at.timestamp()))
        headers["svix-signature"] = Webhook(RESEND_SECRET).sign(
            msg_id=headers["svix-id"], timestamp=at, data=data
        )
    return data, headers


def post(
    client: Client,
    esp: str,
    name: str,
    *,
    auth: str | None = SECRETS[0],
    mailgun_key: str = MAILGUN_KEY,
    fixture: dict[str, Any] | None = None,
) -> Any:
    """POST a fixture to anymail's tracking view for ``esp``, as the ESP would."""
    fixture = fixture or load(esp, name)
    data, headers = _signed(esp, fixture, mailgun_key)
    if auth is not None:
        headers["Authorization"] = basic(auth)
    # Amazon SNS posts JSON as text/plain.
    content_type = "text/plain; charset=UTF-8" if esp == "amazon_ses" else "application/json"
    return client.post(
        f"/anymail/{esp}/tracking/", data=data, content_type=content_type, headers=headers
    )


def make_send(
    *,
    learner: Learner,
    campaign: Campaign,
    esp_message_id: str = "",
    status: str = Send.Status.SENT,
    sent_at: dt.datetime | None = NOW - dt.timedelta(hours=1),
    audience: str = "learner",
) -> Send:
    enrollment, _ = Enrollment.objects.get_or_create(
        campaign=campaign, learner=learner, defaults={"enrolled_at": NOW - dt.timedelta(days=1)}
    )
    return Send.objects.create(
        enrollment=enrollment,
        campaign=campaign,
        learner=learner,
        manager=learner.manager if audience == "manager" else None,
        audience=audience,
        to_email=learner.manager.email
        if audience == "manager" and learner.manager
        else learner.email,
        status=status,
        due_at=NOW - dt.timedelta(hours=2),
        created_at=NOW - dt.timedelta(hours=2),
        sent_at=sent_at if status == Send.Status.SENT else None,
        esp_message_id=esp_message_id,
    )


def scenario_sends(esp: str, campaign: Campaign) -> dict[str, Send]:
    """A learner and a send for every fixture of ``esp`` (by fixture name); those whose
    delivery event must confirm them start unconfirmed."""
    sends: dict[str, Send] = {}
    for name in fixture_names(esp):
        expect = load(esp, name)["expect"]
        if "recipient" not in expect:
            continue
        learner = Learner.objects.filter(email=expect["recipient"]).first()
        learner = learner or LearnerFactory.create(email=expect["recipient"])
        existing = Send.objects.filter(esp_message_id=expect["message_id"]).first()
        sends[name] = existing or make_send(
            learner=learner,
            campaign=campaign,
            esp_message_id=expect["message_id"],
            status=Send.Status.UNCONFIRMED if expect.get("confirms") else Send.Status.SENT,
        )
    return sends


@pytest.fixture
def webhooks() -> Any:
    cache.clear()
    with override_settings(ANYMAIL=ANYMAIL_SETTINGS, AMAZON_SES_SNS_TOPIC_ARNS=[]):
        yield


@pytest.fixture
def campaign(db: None) -> Campaign:
    return CampaignFactory.create(status=Campaign.Status.ACTIVE)
