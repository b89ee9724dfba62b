"""Store first, then apply: keys, send matching, out-of-order events, unconfirmed sends, the
Amazon SNS subscription handshake and topic allow-list, and errors that lose nothing."""

from __future__ import annotations

import datetime as dt
from typing import Any
from unittest import mock

import pytest
from anymail.signals import AnymailTrackingEvent, tracking
from django.test import Client, override_settings
from pytest_httpserver import HTTPServer

from campaigns import tasks
from campaigns.engine.results import PassResult
from campaigns.feedback import apply, esp_events
from campaigns.models import Campaign, EspEvent, ManagerDigest, Send
from tests.campaigns.feedback.conftest import ANYMAIL_SETTINGS, SES_TOPIC, load, make_send, post
from tests.factories import NOW, LearnerFactory, ManagerFactory

pytestmark = [
    pytest.mark.usefixtures("webhooks"),
    pytest.mark.filterwarnings("ignore::anymail.exceptions.AnymailNotSupportedWarning"),
]


def signal(**fields: Any) -> None:
    """Send one synthetic anymail tracking event, as anymail's views do."""
    fields.setdefault("timestamp", NOW)
    fields.setdefault("recipient", "ada@example.com")
    event = AnymailTrackingEvent(**fields)
    tracking.send(sender=object, event=event, esp_name=fields.pop("esp", "Postmark"))


@pytest.fixture
def send(campaign: Campaign) -> Send:
    learner = LearnerFactory.create(email="ada@example.com")
    return make_send(learner=learner, campaign=campaign, esp_message_id="esp-1")


def test_an_event_is_matched_by_the_send_id_in_its_metadata_first(send: Send) -> None:
    other = make_send(learner=send.learner, campaign=send.campaign, audience="manager")
    signal(
        event_type="delivered", event_id="e1", message_id="esp-1", metadata={"send_id": other.pk}
    )
    apply.apply_pending(now=NOW)
    other.refresh_from_db()
    send.refresh_from_db()
    assert other.delivered_at == NOW and send.delivered_at is None


def test_without_metadata_an_event_is_matched_by_the_esp_message_id(send: Send) -> None:
    signal(event_type="delivered", event_id="e1", message_id="esp-1", metadata={"send_id": "x"})
    apply.apply_pending(now=NOW)
    send.refresh_from_db()
    assert send.delivered_at == NOW
    assert EspEvent.objects.get().outcome == f"send {send.pk}: delivered"


def test_an_open_before_its_delivery_ends_with_both_and_the_first_times_are_kept(
    send: Send,
) -> None:
    later = NOW + dt.timedelta(hours=2)
    signal(event_type="opened", event_id="o2", message_id="esp-1", timestamp=later)
    apply.apply_pending(now=NOW)
    signal(event_type="opened", event_id="o1", message_id="esp-1", timestamp=NOW)
    signal(event_type="delivered", event_id="d1", message_id="esp-1", timestamp=NOW)
    apply.apply_pending(now=NOW)
    signal(event_type="opened", event_id="o3", message_id="esp-1", timestamp=later)
    apply.apply_pending(now=NOW)
    send.refresh_from_db()
    assert (send.delivered_at, send.opened_at, send.status) == (NOW, NOW, Send.Status.SENT)


@pytest.mark.parametrize("status", [Send.Status.UNCONFIRMED, Send.Status.SENDING])
def test_a_delivered_event_confirms_a_send_the_worker_could_not(
    campaign: Campaign, status: str
) -> None:
    learner = LearnerFactory.create(email="ada@example.com")
    send = make_send(learner=learner, campaign=campaign, status=status, sent_at=None)
    Send.objects.filter(pk=send.pk).update(message_id="<send-1@example.com>")
    signal(event_type="delivered", event_id="d1", message_id="esp-9", metadata={"send_id": send.pk})
    apply.apply_pending(now=NOW + dt.timedelta(minutes=5))
    send.refresh_from_db()
    assert (send.status, send.sent_at, send.esp_message_id) == (Send.Status.SENT, NOW, "esp-9")


@pytest.mark.parametrize("status", [Send.Status.UNCONFIRMED, Send.Status.SENDING])
def test_a_delivered_event_confirms_a_weekly_digest_the_worker_could_not(
    db: None, status: str
) -> None:
    manager = ManagerFactory.create(email="alex@example.com")
    handed_over = NOW - dt.timedelta(minutes=20)
    digest = ManagerDigest.objects.create(
        manager=manager, week_of=dt.date(2026, 11, 30), to_email=manager.email, due_at=handed_over,
        created_at=handed_over, claimed_at=handed_over, status=status, attempts=1,
    )  # fmt: skip
    signal(
        event_type="delivered",
        event_id="d1",
        message_id="esp-9",
        recipient="alex@example.com",
        metadata={"digest_id": str(digest.pk)},
    )
    result = apply.apply_pending(now=NOW)
    assert result.confirmed == 1
    digest.refresh_from_db()
    assert (digest.status, digest.sent_at) == (Send.Status.SENT, handed_over)
    event = EspEvent.objects.get()
    assert (event.metadata_digest_id, event.send_id) == (digest.pk, None)
    assert event.outcome == f"weekly digest {digest.pk}: delivered"


def test_a_sent_event_without_metadata_confirms_by_our_message_id(campaign: Campaign) -> None:
    learner = LearnerFactory.create(email="ada@example.com")
    send = make_send(learner=learner, campaign=campaign, status=Send.Status.UNCONFIRMED)
    Send.objects.filter(pk=send.pk).update(message_id="<send-7.win@example.com>")
    signal(event_type="sent", event_id="s1", message_id="<send-7.win@example.com>")
    apply.apply_pending(now=NOW)
    send.refresh_from_db()
    assert send.status == Send.Status.SENT


def test_a_replayed_event_is_stored_once(send: Send) -> None:
    for _ in range(3):
        signal(event_type="delivered", event_id="e1", message_id="esp-1")
    signal(event_type="delivered", message_id="esp-1", esp="Brevo")
    signal(event_type="delivered", message_id="esp-1", esp="Brevo")
    assert EspEvent.objects.count() == 2
    assert EspEvent.objects.filter(key__startswith="sha256:").count() == 1


def test_events_of_one_post_are_stored_together_and_handed_to_one_task(
    client: Client, campaign: Campaign, django_capture_on_commit_callbacks: Any
) -> None:
    with (
        mock.patch.object(tasks.apply_esp_events, "delay") as delay,
        django_capture_on_commit_callbacks(execute=True),
    ):
        assert post(client, "sendgrid", "delivered_open_click").status_code == 200
    ids = sorted(EspEvent.objects.values_list("pk", flat=True))
    assert len(ids) == 3
    delay.assert_called_once_with(ids)


def test_the_apply_task_applies_the_ids_it_carries(send: Send) -> None:
    signal(event_type="delivered", event_id="e1", message_id="esp-1")
    event = EspEvent.objects.get()
    assert tasks.apply_esp_events.run([event.pk])["applied"] == 1
    event.refresh_from_db()
    assert event.applied_at is not None


def test_the_pass_applies_what_no_task_did(send: Send) -> None:
    signal(event_type="delivered", event_id="e1", message_id="esp-1")
    with mock.patch("campaigns.tasks.run_engine_pass", return_value=PassResult()) as run:
        tasks.run_pass.run()
    assert run.called
    send.refresh_from_db()
    assert send.delivered_at == NOW


def test_a_handler_error_keeps_the_event_and_does_not_block_the_others(send: Send) -> None:
    signal(event_type="delivered", event_id="bad", message_id="esp-1")
    signal(event_type="opened", event_id="good", message_id="esp-1")
    bad = EspEvent.objects.get(key__contains="bad")
    real = apply._apply_batch

    def failing(ids: Any, now: Any, result: Any) -> None:
        if bad.pk in ids:
            raise RuntimeError("boom")
        real(ids, now, result)

    with mock.patch.object(apply, "_apply_batch", failing):
        result = apply.apply_pending(now=NOW)
    assert (result.applied, result.failed) == (1, 1)
    bad.refresh_from_db()
    assert bad.applied_at is None and "boom" in bad.last_error and bad.failed_attempts == 1
    # It is retried by later passes, and applied once the cause is gone.
    assert apply.apply_pending(now=NOW).applied == 1


def test_a_webhook_answers_200_even_when_applying_would_fail(
    client: Client, campaign: Campaign
) -> None:
    with mock.patch.object(apply, "_apply_batch", side_effect=RuntimeError("boom")):
        assert post(client, "brevo", "hard_bounce").status_code == 200
        apply.apply_pending(now=NOW)
    assert EspEvent.objects.get().raw["event"] == "hard_bounce"


SNS_CONFIRMED = (
    '<ConfirmSubscriptionResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/">'
    "<ConfirmSubscriptionResult><SubscriptionArn>"
    "arn:aws:sns:us-west-2:123456789012:SES_Notifications:1234"
    "</SubscriptionArn></ConfirmSubscriptionResult>"
    "<ResponseMetadata><RequestId>r1</RequestId></ResponseMetadata>"
    "</ConfirmSubscriptionResponse>"
)


def test_an_sns_subscription_to_an_allowed_topic_is_confirmed(
    client: Client, campaign: Campaign, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/", method="POST").respond_with_data(
        SNS_CONFIRMED, content_type="text/xml"
    )
    topic = load("amazon_ses", "subscription_confirmation")["body"]["TopicArn"]
    anymail = {
        **ANYMAIL_SETTINGS,
        "AMAZON_SES_CLIENT_PARAMS": {"endpoint_url": httpserver.url_for("/")},
    }
    with override_settings(ANYMAIL=anymail, AMAZON_SES_SNS_TOPIC_ARNS=[topic, SES_TOPIC]):
        response = post(client, "amazon_ses", "subscription_confirmation")
    assert response.status_code == 200
    (request, _), *rest = httpserver.log
    assert not rest
    form = request.form
    assert (form["Action"], form["Token"], form["TopicArn"]) == (
        "ConfirmSubscription",
        "EXAMPLE_TOKEN",
        topic,
    )
    assert EspEvent.objects.count() == 0


def test_sns_posts_from_a_topic_not_on_the_allow_list_are_refused(
    client: Client, campaign: Campaign, httpserver: HTTPServer
) -> None:
    anymail = {
        **ANYMAIL_SETTINGS,
        "AMAZON_SES_CLIENT_PARAMS": {"endpoint_url": httpserver.url_for("/")},
    }
    with override_settings(
        ANYMAIL=anymail, AMAZON_SES_SNS_TOPIC_ARNS=["arn:aws:sns:eu-west-1:1:Ours"]
    ):
        assert post(client, "amazon_ses", "subscription_confirmation").status_code == 403
        assert post(client, "amazon_ses", "bounce").status_code == 403
    assert httpserver.log == []
    assert EspEvent.objects.count() == 0


def test_a_stored_event_keeps_the_payload_as_it_came(client: Client, campaign: Campaign) -> None:
    assert post(client, "postmark", "bounce").status_code == 200
    event = EspEvent.objects.get()
    assert event.raw == load("postmark", "bounce")["body"]
    assert (event.esp, event.event_type, event.recipient) == (
        "Postmark",
        "bounced",
        "bounce@example.com",
    )
    assert event.key == "bounced:901542550:bounce@example.com"
    assert esp_events.WEBHOOK_PREFIX == "/anymail/"


def test_an_esp_click_by_a_link_scanner_is_kept_but_not_counted(send: Send) -> None:
    signal(
        event_type="clicked",
        event_id="k1",
        message_id="esp-1",
        user_agent="Mozilla/5.0 (compatible; Barracuda Sentinel (EE))",
    )
    signal(
        event_type="opened",
        event_id="k2",
        message_id="esp-1",
        esp="SendGrid",
        esp_event={"event": "open", "sg_machine_open": True},
    )
    apply.apply_pending(now=NOW)
    send.refresh_from_db()
    assert (send.clicked_at, send.opened_at) == (None, None)
    assert all(e.is_machine for e in EspEvent.objects.all())
    assert "machine, not counted" in EspEvent.objects.get(event_type="clicked").outcome
