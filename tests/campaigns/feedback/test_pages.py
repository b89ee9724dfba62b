"""The pages a learner or manager reaches from an email."""

from __future__ import annotations

import pytest
from django.test import Client

from campaigns.content import links
from campaigns.delivery.deliver import deliver_queued
from campaigns.engine.run import run_pass
from campaigns.models import Campaign, Enrollment, Send, SurveyResponse
from learners.models import Learner, Manager
from tests.campaigns.conftest import day
from tests.factories import CourseProgressFactory, LearnerFactory

pytestmark = pytest.mark.django_db


def path_of(url: str) -> str:
    return url.removeprefix("https://learn.example.com")


@pytest.fixture
def client() -> Client:
    # Like a mail client or a link scanner: no cookies, CSRF checks on.
    return Client(enforce_csrf_checks=True)


@pytest.fixture
def sent(drip: Campaign) -> Send:
    CourseProgressFactory.create(learner=LearnerFactory.create(first_name="Sam"))
    run_pass(now=day(0))
    deliver_queued(now=day(0))
    return Send.objects.get()


def test_a_click_is_recorded_and_leads_to_the_stored_destination(
    client: Client, sent: Send
) -> None:
    response = client.get(path_of(links.click_url(sent.pk)))
    assert response.status_code == 302
    assert response["Location"] == sent.destination_url
    client.get(path_of(links.click_url(sent.pk)))
    sent.refresh_from_db()
    assert sent.click_count == 2 and sent.clicked_at is not None


def test_a_forged_or_foreign_click_token_leads_nowhere(client: Client, sent: Send) -> None:
    foreign = links.unsubscribe_url(learner_id=sent.learner_id, send_id=sent.pk)
    forged = links.click_url(sent.pk)[:-3] + "xx/"
    for url in (foreign.replace("/u/", "/c/"), forged):
        response = client.get(path_of(url))
        assert response.status_code == 404
        assert b"This link is not valid" in response.content


def test_unsubscribe_get_only_asks(client: Client, sent: Send) -> None:
    url = path_of(links.unsubscribe_url(learner_id=sent.learner_id, send_id=sent.pk))
    response = client.get(url)
    assert response.status_code == 200
    assert b"Unsubscribe from learning reminders?" in response.content
    assert client.head(url).status_code == 200
    assert Learner.objects.get(pk=sent.learner_id).unsubscribed_at is None


def test_one_click_unsubscribe_post_needs_no_cookie_and_takes_effect_at_once(
    client: Client, sent: Send
) -> None:
    url = path_of(links.unsubscribe_url(learner_id=sent.learner_id, send_id=sent.pk))
    response = client.post(
        url, "List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 200
    assert b"You're unsubscribed" in response.content
    learner = Learner.objects.get(pk=sent.learner_id)
    assert learner.unsubscribed_at is not None
    assert Enrollment.objects.get().status == "exited"
    sent.refresh_from_db()
    assert sent.unsubscribed_at is not None
    # The next step is not sent.
    assert run_pass(now=day(3)).sends_created == 0
    assert "already unsubscribed" in client.get(url).content.decode().replace("’", "'")


def test_the_survey_takes_a_two_click_answer(client: Client, sent: Send) -> None:
    url = path_of(links.survey_url(learner_id=sent.learner_id, send_id=sent.pk))
    page = client.get(url)
    assert page.status_code == 200 and b"Sam, why did you stop?" in page.content
    assert client.post(url, {"reason": "no_time"}).status_code == 200
    client.post(url, {"reason": "too_hard", "comment": "Module 3 is long"})
    response = SurveyResponse.objects.get()
    assert (response.reason, response.comment, response.campaign_id) == (
        "too_hard",
        "Module 3 is long",
        sent.campaign_id,
    )


def test_a_manager_opts_out_of_nudges_without_unsubscribing_the_learner(
    client: Client, sent: Send
) -> None:
    manager = Manager.objects.get(reports__pk=sent.learner_id)
    url = path_of(links.manager_optout_url(manager_id=manager.pk))
    assert b"Stop nudges about your team?" in client.get(url).content
    assert client.post(url).status_code == 200
    manager.refresh_from_db()
    assert manager.nudges_opted_out_at is not None
    assert Learner.objects.get(pk=sent.learner_id).unsubscribed_at is None
    run_pass(now=day(3))
    run_pass(now=day(7))
    manager_send = Send.objects.get(audience="manager")
    assert (manager_send.status, manager_send.skip_reason) == ("skipped", "manager opted out")
    assert Send.objects.filter(audience="learner", status="queued").count() == 2
