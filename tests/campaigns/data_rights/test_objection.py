"""Art. 21: objecting is the one-click unsubscribe, and it is immediate — a message already
queued for delivery is not sent either."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.core import mail
from django.test import Client

from campaigns.content import links
from campaigns.delivery.deliver import deliver_queued
from campaigns.models import Send
from tests.campaigns.conftest import day
from tests.campaigns.data_rights.conftest import ADDRESS, World


def test_a_queued_message_is_not_sent_after_the_unsubscribe(world: World):
    sent = Send.objects.filter(learner=world.learner, audience="learner").first()
    assert sent is not None
    pending = Send.objects.create(
        enrollment=sent.enrollment,
        campaign=world.campaign,
        learner=world.learner,
        audience="learner",
        kind="welcome_back",
        status="queued",
        due_at=day(9),
        created_at=day(9),
    )
    url = urlsplit(links.unsubscribe_url(learner_id=world.learner.pk, send_id=sent.pk)).path
    mail.outbox.clear()

    response = Client().post(
        url, "List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded"
    )
    deliver_queued(now=day(9))

    assert response.status_code == 200
    pending.refresh_from_db()
    assert (pending.status, pending.skip_reason) == ("skipped", "learner unsubscribed")
    assert [m for m in mail.outbox if ADDRESS in m.to] == []
