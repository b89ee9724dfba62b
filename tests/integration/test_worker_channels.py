"""Texts and Slack nudges with two real Celery workers on Redis and PostgreSQL, against local
fakes of Twilio and Slack: every send reaches its provider exactly once, however many times
its id is handed over."""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from campaigns.engine.run import run_pass
from campaigns.models import Audience, Channel, Send
from campaigns.tasks import enqueue_delivery
from learners.models import Learner
from tests.campaigns.conftest import day, one_step
from tests.factories import CourseProgressFactory, LearnerFactory, ManagerFactory
from tests.integration.conftest import Workers, wait_for
from tests.integration.test_worker_delivery import OPEN_ALL_DAY, settled

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.worker,
    pytest.mark.django_db(transaction=True),
]

SID = "ACXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX"


class Provider:
    """Counts what reached the fake Twilio and Slack, per send."""

    def __init__(self) -> None:
        self.texts: Counter[int] = Counter()
        self.posts: Counter[str] = Counter()
        self.lock = threading.Lock()

    def twilio(self, request: Request) -> Response:
        callback = request.form["StatusCallback"]
        send_id = int(parse_qs(urlsplit(callback).query)["send"][0])
        with self.lock:
            self.texts[send_id] += 1
        body = f'{{"sid": "SM{send_id:032d}", "status": "queued", "to": "{request.form["To"]}"}}'
        return Response(body, status=201, content_type="application/json")

    def slack(self, request: Request) -> Response:
        payload = request.get_json()
        with self.lock:
            self.posts[payload["text"]] += 1
        body = '{"ok": true, "channel": "D024BE91L", "ts": "1503435956.000247"}'
        return Response(body, content_type="application/json")


def test_two_workers_text_and_slack_each_send_exactly_once(
    workers: Workers, httpserver: HTTPServer, settings: Any
) -> None:
    provider = Provider()
    httpserver.expect_request(f"/2010-04-01/Accounts/{SID}/Messages.json").respond_with_handler(
        provider.twilio
    )
    httpserver.expect_request("/api/chat.postMessage").respond_with_handler(provider.slack)
    one_step(Channel.SMS, Audience.LEARNER, **OPEN_ALL_DAY)
    for n in range(30):
        manager = ManagerFactory.create(slack_user_id=f"W{n:08d}")
        CourseProgressFactory.create(
            learner=LearnerFactory.create(
                manager=manager,
                first_name=f"Ray{n}",
                phone=f"+49151123456{n:02d}",
                sms_consent_at=day(-30),
            )
        )
    nudge = one_step(Channel.SLACK, Audience.MANAGER, **OPEN_ALL_DAY)
    nudge.campaign.priority = 1
    nudge.campaign.save()
    # Half the learners go to the Slack campaign (it runs first), half get the text.
    nudge.campaign.segment.max_inactive_days = 59
    nudge.campaign.segment.roles = "Sales"
    nudge.campaign.segment.save()
    Learner.objects.filter(pk__in=Learner.objects.order_by("pk").values("pk")[:15]).update(
        role="Support"
    )
    env = {
        "TWILIO_ACCOUNT_SID": SID,
        "TWILIO_AUTH_TOKEN": "secret",
        "TWILIO_FROM": "+15017122661",
        "TWILIO_API_BASE_URL": httpserver.url_for("/").rstrip("/"),
        "SLACK_BOT_TOKEN": "xoxb-1",
        "SLACK_API_BASE_URL": httpserver.url_for("/api/"),
    }
    workers.start(batch_size=4, env=env)
    workers.start(batch_size=4, env=env)
    settings.DELIVERY_BATCH_SIZE = 4
    run_pass(now=day(0), hand_over=enqueue_delivery)
    # The same ids handed over twice more: claims make the extra tasks harmless.
    ids = list(Send.objects.values_list("pk", flat=True))
    enqueue_delivery(ids)
    enqueue_delivery(ids)
    wait_for(settled, timeout=120, what="every send delivered")
    sends = list(Send.objects.all())
    assert len(sends) == 30
    assert Counter((s.channel, s.status) for s in sends) == {
        ("sms", "sent"): 15,
        ("slack", "sent"): 15,
    }
    texts = {s.pk for s in sends if s.channel == "sms"}
    assert dict(provider.texts) == dict.fromkeys(texts, 1)
    assert len(provider.posts) == 15 and set(provider.posts.values()) == {1}
    assert {s.esp_message_id for s in sends if s.channel == "sms"} == {
        f"SM{pk:032d}" for pk in texts
    }
