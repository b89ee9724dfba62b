"""No body makes the activity API answer 5xx: each problem is a 4xx that names it, and the
valid events of a mixed batch are stored."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.utils import timezone

from learners.api.parsers import MAX_BODY_BYTES
from learners.models import ActivityEvent, Learner
from tests.factories import LearnerFactory

URL = "/api/v1/activity/events/"


@pytest.fixture
def learner(db) -> Learner:
    return LearnerFactory.create(external_id="L1", last_active_at=None)


def recent() -> str:
    return (timezone.now() - dt.timedelta(hours=1)).isoformat()


def event(event_id: str, **extra: object) -> dict[str, object]:
    return {"event_id": event_id, "learner_id": "L1", "kind": "login", "occurred_at": recent()}


def post_raw(api, body: bytes | str, content_type: str = "application/json"):
    return api.generic("POST", URL, body, content_type=content_type)


def test_extreme_nesting_is_a_400_that_says_so(api, learner):
    response = post_raw(api, "[" * 100_000 + "]" * 100_000)

    assert response.status_code == 400
    assert response.json() == {"detail": "The JSON nests too deeply; events are flat objects."}


def test_nesting_inside_an_event_is_that_events_error(api, learner):
    deep: object = "x"
    for _ in range(500):
        deep = {"a": deep}
    response = api.post(URL, [event("E1"), {**event("E2"), "learner_id": deep}], format="json")

    assert response.status_code == 200
    assert response.json()["accepted"] == 1
    assert response.json()["errors"] == [
        {"index": 1, "event_id": "E2", "errors": {"learner_id": ["Not a valid string."]}}
    ]


@pytest.mark.parametrize(
    "moment", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"], ids=["year 1", "9999"]
)
def test_a_date_outside_what_can_be_stored_is_named_and_the_valid_events_are_stored(
    api, learner, moment
):
    alone = api.post(URL, [{**event("E0"), "occurred_at": moment}], format="json")
    mixed = api.post(URL, [event("E1"), {**event("E2"), "occurred_at": moment}], format="json")

    assert alone.status_code == 400
    assert alone.json()["errors"][0]["errors"] == {
        "occurred_at": ["The timestamp is outside the dates that can be stored."]
    }
    assert mixed.status_code == 200
    assert mixed.json()["accepted"] == 1
    assert set(ActivityEvent.objects.values_list("external_id", flat=True)) == {"E1"}


def test_a_body_over_the_limit_is_a_413_with_a_json_detail(api, learner):
    padding = "x" * (MAX_BODY_BYTES + 1)
    response = post_raw(api, json.dumps([{**event("E1"), "padding": padding}]))

    assert response.status_code == 413
    assert response.json() == {
        "detail": "The body is larger than 6 MB; send fewer events per request."
    }
    assert not ActivityEvent.objects.exists()


def test_a_body_that_is_not_json_is_a_415(api, learner):
    response = post_raw(api, "event_id=E1", content_type="application/x-www-form-urlencoded")

    assert response.status_code == 415
    assert "detail" in response.json()


def test_nul_and_blank_ids_are_refused_by_name(api, learner):
    response = api.post(
        URL,
        [event("E1"), {**event("E\x002")}, {**event("   ")}],
        format="json",
    )

    body = response.json()
    assert response.status_code == 200
    assert body["accepted"] == 1
    assert [error["index"] for error in body["errors"]] == [1, 2]
    assert "Null characters are not allowed." in body["errors"][0]["errors"]["event_id"]
    assert body["errors"][1]["errors"] == {"event_id": ["This field may not be blank."]}


def test_a_time_in_the_future_alone_is_refused_in_a_200(api, learner):
    # The time has the documented shape; only the server's clock can refuse it.
    ahead = (timezone.now() + dt.timedelta(days=2)).isoformat()

    response = api.post(URL, [{**event("E1"), "occurred_at": ahead}], format="json")

    assert response.status_code == 200
    assert response.json()["errors"][0]["errors"] == {
        "occurred_at": ["The timestamp is in the future."]
    }
    assert Learner.objects.get().last_active_at is None
