"""Learner and manager pages are never cached and load nothing from anywhere else."""

from __future__ import annotations

import pytest
from django.http.response import HttpResponseBase
from django.test import Client

from campaigns.content import links
from campaigns.delivery import deliver as delivery
from campaigns.engine import run as engine
from campaigns.models import Campaign, Send
from learners.models import Learner
from tests.campaigns.conftest import day
from tests.factories import CourseProgressFactory, LearnerFactory

pytestmark = pytest.mark.django_db

POLICY = {
    "default-src 'none'",
    "style-src 'self'",
    "img-src 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
    "base-uri 'none'",
}


def path_of(url: str) -> str:
    return url.removeprefix("https://learn.example.com")


def assert_private(response: HttpResponseBase) -> None:
    cache_control = {part.strip() for part in response["Cache-Control"].split(",")}
    assert {"no-store", "no-cache", "private"} <= cache_control
    directives = {part.strip() for part in response["Content-Security-Policy"].split(";")}
    assert directives == POLICY


@pytest.fixture
def sent(drip: Campaign) -> Send:
    CourseProgressFactory.create(learner=LearnerFactory.create(first_name="Sam"))
    engine.run_pass(now=day(0))
    delivery.deliver_queued(now=day(0))
    return Send.objects.get()


def test_every_learner_and_manager_page_is_private(sent: Send) -> None:
    client = Client(enforce_csrf_checks=True)
    learner: Learner = sent.learner
    assert learner.manager_id is not None
    unsubscribe = path_of(links.unsubscribe_url(learner_id=learner.pk, send_id=sent.pk))
    survey = path_of(links.survey_url(learner_id=learner.pk, send_id=sent.pk))
    optout = path_of(links.manager_optout_url(manager_id=learner.manager_id))
    pages = [
        client.get(path_of(links.click_url(sent.pk))),
        client.get("/c/not-a-token/"),
        client.get(unsubscribe),
        client.get(survey),
        client.post(survey, {"reason": "no_time"}),
        client.get(optout),
        client.post(optout),
        client.post(unsubscribe),
    ]
    assert [page.status_code for page in pages] == [302, 404, 200, 200, 200, 200, 200, 200]
    for page in pages:
        assert_private(page)


def test_the_pages_stylesheet_is_allowed_by_the_policy(sent: Send) -> None:
    client = Client()
    unsubscribe = path_of(links.unsubscribe_url(learner_id=sent.learner_id, send_id=sent.pk))
    page = client.get(unsubscribe).content.decode()
    # The one thing a page loads is its own stylesheet, from this site (style-src 'self').
    assert '<link rel="stylesheet" href="/static/css/pages.css">' in page
    assert "<script" not in page and "style=" not in page
