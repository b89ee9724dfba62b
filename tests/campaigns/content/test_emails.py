"""Real rendered emails, as a learner and a manager receive them."""

from __future__ import annotations

import pytest
from django.core import mail
from django.core.mail import EmailMultiAlternatives

from campaigns.content import emails
from campaigns.delivery.deliver import deliver_queued
from campaigns.engine.run import run_pass
from campaigns.models import Audience, Campaign, Send
from learners.models import Learner
from tests.campaigns.conftest import day
from tests.factories import CourseProgressFactory, LearnerFactory

pytestmark = pytest.mark.django_db


def deliver_day(n: int) -> list[EmailMultiAlternatives]:
    run_pass(now=day(n))
    deliver_queued(now=day(n))
    return [m for m in mail.outbox if isinstance(m, EmailMultiAlternatives)]


def html_of(message: EmailMultiAlternatives) -> str:
    ((content, mimetype),) = message.alternatives
    assert mimetype == "text/html"
    return str(content)


def learner(**fields: object) -> Learner:
    person = LearnerFactory.create(**fields)
    CourseProgressFactory.create(learner=person)
    return person


def test_a_learner_email_has_subject_text_html_footer_and_one_click_headers(
    drip: Campaign,
) -> None:
    sam = learner(first_name="Sam")
    (message,) = deliver_day(0)
    send = Send.objects.get()
    assert message.subject == "Day 0: Sam, your course is waiting"
    assert message.from_email == "The Learning Team <learning@example.com>"
    assert message.to == [sam.email]
    text, html = message.body, html_of(message)
    assert "Hi Sam," in text and "You stopped at Module 2: Handling personal data." in text
    assert "<p>Hi Sam,</p>" in html
    click = "https://learn.example.com/c/"
    assert f"Resume where you stopped: {click}" in text
    assert f'href="{click}' in html
    # The footer: the postal address and a visible unsubscribe link, in both parts.
    assert "1 Learning Way, 10115 Berlin" in text and "1 Learning Way, 10115 Berlin" in html
    assert "Unsubscribe from these reminders: https://learn.example.com/u/" in text
    assert ">Unsubscribe from these reminders</a>" in html
    headers = message.extra_headers
    unsubscribe_url = headers["List-Unsubscribe"].split(">")[0].lstrip("<")
    assert unsubscribe_url.startswith("https://learn.example.com/u/")
    assert headers["List-Unsubscribe"].endswith(", <mailto:unsubscribe@example.com>")
    assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert unsubscribe_url in text
    assert headers["Message-ID"] == send.message_id


def test_a_learner_name_with_markup_is_escaped_in_html_and_kept_in_text(drip: Campaign) -> None:
    learner(first_name="<b>Sam</b>")
    (message,) = deliver_day(0)
    html = html_of(message)
    assert "&lt;b&gt;Sam&lt;/b&gt;" in html
    assert "<b>Sam</b>" not in html
    assert "Hi <b>Sam</b>," in message.body
    assert message.subject == "Day 0: <b>Sam</b>, your course is waiting"


def test_a_name_cannot_inject_headers(drip: Campaign) -> None:
    learner(first_name="Sam\r\nBcc: everyone@example.com")
    (message,) = deliver_day(0)
    assert "\n" not in message.subject and "\r" not in message.subject
    assert "Bcc" not in message.extra_headers


def test_the_manager_nudge_has_its_own_opt_out_and_a_ready_line(drip: Campaign) -> None:
    sam = learner(first_name="Sam")
    deliver_day(0)
    deliver_day(3)
    mail.outbox.clear()
    messages = deliver_day(7)
    assert sam.manager is not None
    (to_manager,) = [m for m in messages if m.to == [sam.manager.email]]
    assert to_manager.subject.startswith("Day 7: Sam paused Course")
    assert "/m/" in to_manager.extra_headers["List-Unsubscribe"]
    assert "Stop nudges about your team: https://learn.example.com/m/" in to_manager.body
    assert "Suggested message:" in to_manager.body
    manager_send = Send.objects.get(audience=Audience.MANAGER)
    assert manager_send.destination_url.startswith(f"mailto:{sam.email}?subject=")


def test_the_cta_carries_utm_parameters_for_the_step_and_variant(drip: Campaign) -> None:
    learner()
    deliver_day(0)
    url = Send.objects.get().destination_url
    assert "utm_source=reengagement&utm_medium=email" in url
    assert f"utm_campaign={drip.slug}&utm_content=step1" in url


def test_a_preview_has_no_tracking_and_no_working_unsubscribe(drip: Campaign) -> None:
    sam = learner(first_name="Sam")
    step = drip.steps.get(position=1)
    preview = emails.render_preview(
        step=step, variant=None, audience=Audience.LEARNER, learner=sam, now=day(0)
    )
    assert preview.subject == "Day 0: Sam, your course is waiting"
    assert "/c/" not in preview.html and "/u/preview/" in preview.html
    assert preview.to == sam.email
    assert "Message-ID" not in preview.headers and preview.metadata == {}
    message = preview.as_message()
    assert message.track_clicks is False
