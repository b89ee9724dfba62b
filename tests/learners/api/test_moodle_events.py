"""Moodle's own events from a webhook plugin: credentials, mapping, replays."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from learners.models import ActivityEvent, CourseProgress, Learner, LmsStatement
from tests.factories import CourseFactory, CourseProgressFactory, LearnerFactory
from tests.lms import Credentials, load, make_source

URL = "/lms/moodle/events"


@pytest.fixture
def moodle(db) -> Credentials:
    return make_source("Moodle")


@pytest.fixture
def learner(db) -> Learner:
    return LearnerFactory.create(
        external_id="1", last_active_at=timezone.now() - dt.timedelta(days=45)
    )


def unix(hours_ago: float = 1) -> int:
    return int((timezone.now() - dt.timedelta(hours=hours_ago)).timestamp())


def post(body: Any, **extra: Any):
    return Client().post(URL, data=json.dumps(body), content_type="application/json", **extra)


def test_a_login_with_the_plugins_token_moves_the_learner(moodle, learner):
    moment = unix(2)
    event = load("moodle/user_loggedin.json", timecreated=moment)
    event["token"] = f"{moodle.source.key}:{moodle.secret}"

    response = post(event)

    assert response.status_code == 200
    assert response.json() == {"stored": 1, "applied": 1, "ignored": 0, "duplicates": 0}
    learner.refresh_from_db()
    assert learner.last_active_at == dt.datetime.fromtimestamp(moment, tz=dt.UTC)
    assert ActivityEvent.objects.get().kind == "login"
    # The token is a credential: it is not kept with the event.
    assert "token" not in LmsStatement.objects.get().raw


def test_a_resent_event_is_recognised(moodle, learner):
    event = load("moodle/sco_launched.json", timecreated=unix())

    post(event, HTTP_AUTHORIZATION=moodle.header)
    again = post(event, HTTP_AUTHORIZATION=moodle.header)

    assert again.json()["duplicates"] == 1
    assert ActivityEvent.objects.get().kind == "active"


def test_course_completion_is_about_the_related_user(moodle, learner):
    course = CourseFactory.create(external_id="2")
    CourseProgressFactory.create(learner=learner, course=course, percent_complete=80)
    # Moodle records completions from cron: the user acting is not the learner.
    event = load("moodle/course_completed.json", timecreated=unix(), userid=0)

    post(event, HTTP_AUTHORIZATION=moodle.header)

    event = ActivityEvent.objects.get()
    assert (event.kind, event.course, event.learner) == ("course_completed", course, learner)
    assert CourseProgress.objects.get(learner=learner, course=course).percent_complete == 100


def test_module_completion_and_its_undoing(moodle, learner):
    course = CourseFactory.create(external_id="2")
    done = load("moodle/course_module_completion_updated.json", timecreated=unix(2))
    undone = load("moodle/course_module_uncompleted.json", timecreated=unix(1))

    post([done, undone], HTTP_AUTHORIZATION=moodle.header)

    assert ActivityEvent.objects.get().course == course
    assert ActivityEvent.objects.get().kind == "module_completed"
    reasons = dict(LmsStatement.objects.values_list("status", "reason"))
    assert reasons["ignored"] == "The module was marked not complete."


def test_a_course_view_on_the_front_page_is_activity_without_a_course(moodle):
    viewer = LearnerFactory.create(external_id="2")

    post(load("moodle/course_viewed.json", timecreated=unix()), HTTP_AUTHORIZATION=moodle.header)

    event = ActivityEvent.objects.get()
    assert (event.learner, event.kind, event.course) == (viewer, "active", None)


def test_unknown_users_and_teaching_events_are_ignored_with_a_reason(moodle, learner):
    stranger = load("moodle/user_loggedin.json", timecreated=unix(), userid=99)
    graded = {
        "eventname": "\\mod_assign\\event\\submission_graded",
        "edulevel": 1,
        "userid": 1,
        "courseid": 2,
        "timecreated": unix(),
    }

    response = post([stranger, graded], HTTP_AUTHORIZATION=moodle.header)

    assert response.json()["ignored"] == 2
    assert set(LmsStatement.objects.values_list("reason", flat=True)) == {
        "No learner matches the actor user 99.",
        "The event \\mod_assign\\event\\submission_graded is not something a learner does "
        "in a course.",
    }


@pytest.mark.parametrize(
    ("body", "extra", "status", "message"),
    [
        ({"eventname": "x", "timecreated": 1}, {}, 401, "Credentials of an active LMS source"),
        ({"eventname": "x", "timecreated": 1, "token": "lms-x:wrong"}, {}, 401, "Credentials"),
        ({"timecreated": 1}, None, 400, "Event 0: eventname is required."),
        ({"eventname": "x", "timecreated": "soon"}, None, 400, "timecreated must be Unix"),
    ],
)
def test_refused_requests_say_why(moodle, body, extra, status, message):
    headers = {"HTTP_AUTHORIZATION": moodle.header} if extra is None else extra

    response = post(body, **headers)

    assert response.status_code == status
    assert message in response.json()["detail"]
    assert not LmsStatement.objects.exists()


def test_bad_json_is_a_400(moodle):
    response = Client().post(
        URL, data="{", content_type="application/json", HTTP_AUTHORIZATION=moodle.header
    )

    assert response.status_code == 400
    assert "not valid JSON" in response.json()["detail"]
