"""The step admin: template validation, the variables panel, preview and test send."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.core import mail
from django.urls import reverse

from tests.campaigns.admin.helpers import client_for, preview_setup, step_post_data, text
from tests.factories import (
    StepFactory,
)

pytestmark = pytest.mark.django_db


def test_saving_a_dangerous_template_shows_the_error_and_changes_nothing(alice: User) -> None:
    step = StepFactory.create(body="Hi {{ first_name }}")
    url = reverse("admin:campaigns_step_change", args=[step.pk])
    client = client_for(alice)
    for body, message in [
        ("Hi {% load static %}", "Invalid block tag on line 1: &#x27;load&#x27;"),
        ("Hi {{ first_name|safe }}", "Invalid filter: &#x27;safe&#x27;"),
        ("Hi {{ first_name.__class__ }}", "may not begin with underscores"),
        ("Hi {% include 'admin/base.html' %}", "&#x27;include&#x27;"),
    ]:
        response = client.post(url, step_post_data(step, body=body))
        assert response.status_code == 200
        assert message in text(response)
        step.refresh_from_db()
        assert step.body == "Hi {{ first_name }}"


def test_the_step_page_lists_the_available_variables(alice: User) -> None:
    step = StepFactory.create()
    page = text(client_for(alice).get(reverse("admin:campaigns_step_change", args=[step.pk])))
    assert "{{ first_name }}" in page and "Learner&#x27;s first name" in page
    assert "{{ minutes_remaining }}" in page


def test_the_preview_shows_subject_html_and_text_for_a_chosen_learner(alice: User) -> None:
    step, learner = preview_setup()
    url = reverse("admin:campaigns_step_preview", args=[step.pk])
    page = text(client_for(alice).get(url, {"learner": learner.email, "audience": "learner"}))
    assert '<dd id="preview-subject">Sam&lt;b&gt;, we saved your progress</dd>' in page
    # The HTML part sits in a sandboxed iframe; the learner's name is escaped inside it.
    assert "<iframe" in page and "sandbox" in page
    assert "Hi Sam&amp;lt;b&amp;gt;, Module 3: Breach response is next." in page
    assert "Hi Sam&lt;b&gt;, Module 3: Breach response is next." in page  # the text part


def test_the_preview_picks_a_random_matching_learner(alice: User) -> None:
    step, _sam = preview_setup()
    page = text(client_for(alice).get(reverse("admin:campaigns_step_preview", args=[step.pk])))
    assert "sam@example.com" in page


def test_a_test_send_lands_in_the_outbox_with_the_right_subject_and_headers(alice: User) -> None:
    step, learner = preview_setup()
    response = client_for(alice).post(
        reverse("admin:campaigns_step_send_test", args=[step.pk]),
        {"learner": learner.pk, "audience": "learner", "variant": ""},
        follow=True,
    )
    [message] = mail.outbox
    assert message.to == ["alice@example.com"]
    assert message.subject == "[Test] Sam<b>, we saved your progress"
    assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message.extra_headers["List-Unsubscribe"].startswith("<http")
    assert "Sent “[Test] Sam&lt;b&gt;, we saved your progress” to alice@example.com" in text(
        response
    )
