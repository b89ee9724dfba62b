"""The xAPI statements resource as Moodle's logstore_xapi and Open edX's event routing use it."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from django.test import Client, override_settings
from django.utils import timezone

from learners.models import ActivityEvent, CourseProgress, Learner, LmsStatement
from learners.standards.credentials import revoke_credentials
from tests.factories import CourseFactory, CourseProgressFactory, LearnerFactory
from tests.lms import Credentials, load, make_source

URL = "/xapi/statements"
OPENEDX_LEARNER = "32e08e30-f8ae-4ce2-94a8-c2bfe38a70cb"
OPENEDX_COURSE = "course-v1:edX+DemoX+Demo_Course"
PROGRESS = "https://w3id.org/xapi/cmi5/result/extensions/progress"
PASSED_ID = "ebfef69f-dd05-5bf0-bf90-bad645bc6992"


@pytest.fixture
def lms(db) -> Credentials:
    return make_source()


@pytest.fixture
def moodle_learner(db) -> Learner:
    """Moodle user 1 of logstore_xapi's fixtures, away for 45 days."""
    return LearnerFactory.create(
        external_id="1", email="sam@example.com", last_active_at=timezone.now() - dt.timedelta(45)
    )


@pytest.fixture
def openedx_learner(db) -> Learner:
    return LearnerFactory.create(
        external_id=OPENEDX_LEARNER, last_active_at=timezone.now() - dt.timedelta(days=45)
    )


def hours_ago(hours: float) -> str:
    return (timezone.now() - dt.timedelta(hours=hours)).isoformat()


def send(lms: Credentials, body: Any, *, method: str = "post", query: str = "", **headers: Any):
    headers.setdefault("HTTP_X_EXPERIENCE_API_VERSION", "1.0.3")
    headers.setdefault("HTTP_AUTHORIZATION", lms.header)
    headers.setdefault("CONTENT_TYPE", "application/json")
    data = body if isinstance(body, bytes | str) else json.dumps(body)
    call = getattr(Client(), method)
    return call(URL + query, data=data, content_type="application/json", **headers)


def test_a_moodle_login_moves_the_learner_and_is_stored_as_applied(lms, moodle_learner):
    moment = hours_ago(2)
    response = send(lms, load("xapi/moodle/user_loggedin.json", timestamp=moment))

    assert response.status_code == 200
    assert response["X-Experience-API-Version"] == "1.0.3"
    [statement_id] = response.json()
    moodle_learner.refresh_from_db()
    assert moodle_learner.last_active_at == dt.datetime.fromisoformat(moment)
    event = ActivityEvent.objects.get()
    assert (event.external_id, event.kind, event.learner) == (
        f"xapi:{statement_id}",
        "login",
        moodle_learner,
    )
    stored = LmsStatement.objects.get()
    assert (stored.statement_id, stored.status, stored.source) == (
        statement_id,
        "applied",
        lms.source,
    )
    assert stored.raw["id"] == statement_id
    assert stored.raw["verb"]["id"] == "https://xapi.edlm/profiles/edlm-lms/concepts/verbs/login"


def test_a_moodle_batch_sent_again_is_recognised_and_stores_nothing_new(lms, moodle_learner):
    batch = [
        *load("xapi/moodle/sco_launched.json", timestamp=hours_ago(3)),
        *load("xapi/moodle/chapter_viewed.json", timestamp=hours_ago(2)),
    ]
    first = send(lms, batch)
    again = send(lms, batch)

    assert first.status_code == again.status_code == 200
    assert first.json() == again.json()
    assert len(set(first.json())) == 2
    assert LmsStatement.objects.count() == 2
    assert sorted(ActivityEvent.objects.values_list("kind", flat=True)) == ["active", "active"]


def test_moodle_course_completion_completes_the_course(lms, moodle_learner):
    course = CourseFactory.create(external_id="2")
    CourseProgressFactory.create(learner=moodle_learner, course=course, percent_complete=60)

    response = send(lms, load("xapi/moodle/course_completed.json", timestamp=hours_ago(1)))

    assert response.status_code == 200
    progress = CourseProgress.objects.get(learner=moodle_learner, course=course)
    assert progress.percent_complete == 100
    moodle_learner.refresh_from_db()
    assert moodle_learner.completion_rate == 100
    event = ActivityEvent.objects.get()
    assert (event.kind, event.course) == ("course_completed", course)


def test_moodle_module_completion_names_the_module_in_the_parent_course(lms, moodle_learner):
    course = CourseFactory.create(external_id="2")
    statements = load("xapi/moodle/course_module_completion_updated.json", timestamp=hours_ago(1))

    send(lms, statements)

    event = ActivityEvent.objects.get()
    assert (event.kind, event.course) == ("module_completed", course)
    progress = CourseProgress.objects.get(learner=moodle_learner, course=course)
    assert progress.last_module == "test_book_name"
    assert progress.percent_complete == 0


def test_open_edx_puts_a_statement_and_a_replay_is_answered_204(lms, openedx_learner):
    course = CourseFactory.create(external_id=OPENEDX_COURSE)
    statement = load("xapi/openedx/edx.course.grade.passed.first_time.json")
    statement["timestamp"] = hours_ago(1)

    first = send(lms, statement, method="put", query=f"?statementId={PASSED_ID}")
    again = send(lms, statement, method="put", query=f"?statementId={PASSED_ID}")

    assert first.status_code == again.status_code == 204
    assert LmsStatement.objects.get().statement_id == PASSED_ID
    event = ActivityEvent.objects.get()
    assert (event.kind, event.course, event.learner) == (
        "course_completed",
        course,
        openedx_learner,
    )


def test_a_different_statement_under_a_stored_id_is_a_conflict(lms, openedx_learner):
    statement = load("xapi/openedx/edx.course.grade.passed.first_time.json")
    statement["timestamp"] = hours_ago(1)
    send(lms, statement, method="put", query=f"?statementId={PASSED_ID}")
    changed = {**statement, "verb": {"id": "http://adlnet.gov/expapi/verbs/failed"}}
    video = load("xapi/openedx/play_video.json", timestamp=hours_ago(1))

    put = send(lms, changed, method="put", query=f"?statementId={PASSED_ID}")
    post = send(lms, [video, changed])

    assert put.status_code == post.status_code == 409
    assert PASSED_ID in post.json()["detail"]
    # The batch was refused whole: the video statement is not stored either.
    assert list(LmsStatement.objects.values_list("statement_id", flat=True)) == [PASSED_ID]
    assert LmsStatement.objects.get().verb == "http://adlnet.gov/expapi/verbs/passed"


def test_open_edx_block_completion_completes_a_module(lms, openedx_learner):
    course = CourseFactory.create(external_id=OPENEDX_COURSE)
    statement = load(
        "xapi/openedx/edx.completion.block_completion.changed.json", timestamp=hours_ago(1)
    )

    assert send(lms, statement).status_code == 200

    assert ActivityEvent.objects.get().kind == "module_completed"
    # A block finished says nothing about the course's percentage.
    assert CourseProgress.objects.get(course=course).percent_complete == 0


def test_progressed_on_a_course_sets_its_percent_and_an_older_report_does_not_undo_it(
    lms, openedx_learner
):
    course = CourseFactory.create(external_id="C-GDPR", url="https://lms.example.com/course/gdpr")
    base = load("xapi/openedx/edx.completion.block_completion.changed.json")
    base.pop("id")
    base["object"] = {
        "id": "https://lms.example.com/course/gdpr",
        "objectType": "Activity",
        "definition": {"type": "http://adlnet.gov/expapi/activities/course"},
    }

    def progressed(percent: int, hours: float) -> dict[str, Any]:
        return {
            **base,
            "timestamp": hours_ago(hours),
            "result": {"extensions": {PROGRESS: percent}},
        }

    send(lms, progressed(40, hours=1))
    send(lms, progressed(20, hours=5))

    progress = CourseProgress.objects.get(course=course)
    assert progress.percent_complete == 40
    assert ActivityEvent.objects.filter(kind="active").count() == 2


def test_unknown_learners_and_unmapped_verbs_are_stored_as_ignored_with_the_reason(
    lms, moodle_learner
):
    stranger = load("xapi/openedx/play_video.json", timestamp=hours_ago(1))
    logout = load("xapi/moodle/user_loggedout.json", timestamp=hours_ago(1))
    enrolled = load("xapi/openedx/edx.course.enrollment.activated.json", timestamp=hours_ago(1))

    response = send(lms, [stranger, *logout, enrolled])

    assert response.status_code == 200
    assert len(response.json()) == 3
    reasons = dict(LmsStatement.objects.values_list("verb", "reason"))
    assert set(LmsStatement.objects.values_list("status", flat=True)) == {"ignored"}
    assert reasons["https://w3id.org/xapi/video/verbs/played"] == (
        f"No learner matches the actor account {OPENEDX_LEARNER}."
    )
    logout_verb = "https://xapi.edlm/profiles/edlm-lms/concepts/verbs/logout"
    assert reasons[logout_verb] == f"The verb {logout_verb} is not mapped to any activity."
    assert not ActivityEvent.objects.exists()


def test_an_actor_named_by_mbox_is_matched_by_email(lms, moodle_learner):
    statement = load("xapi/openedx/play_video.json", timestamp=hours_ago(1))
    statement["actor"] = {"objectType": "Agent", "mbox": "mailto:Sam@Example.com"}

    send(lms, statement)

    assert ActivityEvent.objects.get().learner == moodle_learner


def test_a_timestamp_far_in_the_future_is_kept_as_ignored(lms, moodle_learner):
    ahead = (timezone.now() + dt.timedelta(days=2)).isoformat()

    response = send(lms, load("xapi/moodle/user_loggedin.json", timestamp=ahead))

    assert response.status_code == 200
    stored = LmsStatement.objects.get()
    assert (stored.status, stored.reason) == ("ignored", "The timestamp is in the future.")
    moodle_learner.refresh_from_db()
    assert moodle_learner.last_active_at < timezone.now()


@pytest.mark.parametrize(
    ("headers", "status", "message"),
    [
        ({"HTTP_X_EXPERIENCE_API_VERSION": ""}, 400, "X-Experience-API-Version must be 1.0.x"),
        ({"HTTP_X_EXPERIENCE_API_VERSION": "0.95"}, 400, "must be 1.0.x"),
        ({"HTTP_AUTHORIZATION": ""}, 401, "HTTP Basic credentials"),
        ({"HTTP_AUTHORIZATION": "Basic bm90OnJpZ2h0"}, 401, "HTTP Basic credentials"),
        ({"HTTP_AUTHORIZATION": "Basic ???"}, 401, "HTTP Basic credentials"),
    ],
)
def test_requests_without_version_or_credentials_are_refused(lms, headers, status, message):
    response = send(lms, load("xapi/moodle/user_loggedin.json"), **headers)

    assert response.status_code == status
    assert message in response.json()["detail"]
    assert not LmsStatement.objects.exists()


def test_revoked_credentials_stop_working_at_once(lms, moodle_learner):
    revoke_credentials(source=lms.source, now=timezone.now())

    response = send(lms, load("xapi/moodle/user_loggedin.json"))

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Basic realm="xAPI"'


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        (b"{not json", 400, "The body is not valid JSON"),
        (b"", 400, "The body is empty"),
        (b"[]", 400, "The array holds no statements."),
        (b"[1]", 400, "Statement 0: A statement must be a JSON object."),
        (b'[{"verb": {"id": "a\\u0000b"}}]', 400, "NUL character"),
        (b'[{"verb": {"id": "\\ud800"}}]', 400, "not valid Unicode"),
        (b"[" * 100_000 + b"]" * 100_000, 400, "nested too deeply"),
        (b'[{"actor": {"account": {"name": "1"}}, "object": {"id": "x"}}]', 400, "verb"),
        (
            b'{"id": "nope", "actor": {}, "verb": {"id": "v"}, "object": {"id": "x"}}',
            400,
            "Statement 0: id 'nope' is not a UUID.",
        ),
        (
            b'{"timestamp": "yesterday", "actor": {}, "verb": {"id": "v"}, "object": {"id": "x"}}',
            400,
            "timestamp 'yesterday' is not an ISO 8601",
        ),
    ],
)
def test_bad_bodies_get_a_4xx_that_says_what_is_wrong(lms, body, status, message):
    response = send(lms, body)

    assert response.status_code == status
    assert message in response.json()["detail"]
    assert not LmsStatement.objects.exists()


def test_a_batch_naming_one_id_twice_is_refused(lms, openedx_learner):
    statement = load("xapi/openedx/play_video.json", timestamp=hours_ago(1))

    response = send(lms, [statement, {**statement, "timestamp": hours_ago(2)}])

    assert response.status_code == 400
    assert "appears twice in the batch" in response.json()["detail"]


@override_settings(LMS_MAX_BODY_BYTES=2000, LMS_MAX_STATEMENTS=3)
def test_huge_bodies_and_batches_are_refused_with_413(lms):
    statement = load("xapi/moodle/user_loggedin.json")[0]

    too_big = send(lms, [statement] * 3)
    too_many = send(lms, [{"a": 1}] * 4)

    assert too_big.status_code == too_many.status_code == 413
    assert "at most 2000 are accepted" in too_big.json()["detail"]
    assert too_many.json()["detail"] == "At most 3 statements per request; this one has 4."


def test_put_needs_a_statement_id_that_matches_the_body(lms):
    statement = load("xapi/openedx/play_video.json")

    missing = send(lms, statement, method="put")
    other = send(lms, statement, method="put", query=f"?statementId={PASSED_ID}")

    assert missing.status_code == other.status_code == 400
    assert "PUT needs ?statementId=" in missing.json()["detail"]
    assert f"is not the statementId {PASSED_ID}" in other.json()["detail"]


def test_other_methods_and_content_types_are_refused(lms):
    assert Client().get(URL).status_code == 405
    response = send(lms, "{}", CONTENT_TYPE="text/plain")
    assert response.status_code == 415


def test_about_names_the_version(db):
    response = Client().get("/xapi/about")

    assert response.json() == {"version": ["1.0.3"]}


def test_a_batch_takes_the_same_few_queries_for_ten_or_a_hundred_statements(
    lms, django_assert_max_num_queries
):
    CourseFactory.create(external_id="2")

    def batch(size: int) -> list[dict[str, Any]]:
        learners = LearnerFactory.create_batch(size)
        statement = load("xapi/moodle/course_module_completion_updated.json")[0]
        return [
            {**statement, "actor": {"account": {"name": lr.external_id}}, "timestamp": hours_ago(1)}
            for lr in learners
        ]

    small, large = batch(10), batch(100)
    with django_assert_max_num_queries(20) as small_queries:
        assert send(lms, small).status_code == 200
    # SQLite splits the statements' INSERT by its parameter limit: a couple more, not a hundred.
    with django_assert_max_num_queries(len(small_queries.captured_queries) + 2):
        assert send(lms, large).status_code == 200
    assert ActivityEvent.objects.count() == 110
