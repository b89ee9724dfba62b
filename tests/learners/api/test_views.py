"""The activity API as the LMS sees it: token, batch, per-event errors, idempotency."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from learners.models import ActivityEvent, Learner
from tests.factories import LearnerFactory

URL = "/api/v1/activity/events/"


@pytest.fixture
def learner(db) -> Learner:
    return LearnerFactory.create(
        external_id="L1", last_active_at=timezone.now() - dt.timedelta(days=60)
    )


def recent(hours: int = 1) -> str:
    return (timezone.now() - dt.timedelta(hours=hours)).isoformat()


def test_a_mixed_batch_stores_the_good_events_and_lists_the_bad_ones(api, learner):
    response = api.post(
        URL,
        [
            {"event_id": "E1", "learner_id": "L1", "kind": "login", "occurred_at": recent(3)},
            {"event_id": "E2", "learner_id": "L404", "kind": "login", "occurred_at": recent()},
            {"event_id": "E3", "learner_id": "L1", "kind": "login", "occurred_at": "soon"},
            {"event_id": "E4", "learner_id": "L1", "kind": "dancing", "occurred_at": recent()},
        ],
        format="json",
    )

    assert response.status_code == 200
    assert response.json() == {
        "accepted": 1,
        "duplicates": 0,
        "errors": [
            {
                "index": 1,
                "event_id": "E2",
                "errors": {"learner_id": ["No learner has the LMS id 'L404'."]},
            },
            {
                "index": 2,
                "event_id": "E3",
                "errors": {
                    "occurred_at": ["Not an ISO 8601 timestamp (e.g. 2026-11-30T14:05:00Z)."]
                },
            },
            {
                "index": 3,
                "event_id": "E4",
                "errors": {"kind": ['"dancing" is not a valid choice.']},
            },
        ],
    }
    learner.refresh_from_db()
    assert learner.last_active_at > timezone.now() - dt.timedelta(hours=4)


def test_a_replay_changes_nothing_and_succeeds(api, learner):
    batch = [{"event_id": "E1", "learner_id": "L1", "kind": "login", "occurred_at": recent()}]
    api.post(URL, batch, format="json")
    before = Learner.objects.get().last_active_at

    response = api.post(URL, batch, format="json")

    assert response.status_code == 200
    assert response.json() == {"accepted": 0, "duplicates": 1, "errors": []}
    assert ActivityEvent.objects.count() == 1
    assert Learner.objects.get().last_active_at == before


def test_an_unknown_learner_alone_is_a_200_with_the_reason(api, learner):
    # The request is well formed (what the OpenAPI document describes); what the event says
    # is refused, and the body says why.
    response = api.post(
        URL,
        [{"event_id": "E1", "learner_id": "L404", "kind": "login", "occurred_at": recent()}],
        format="json",
    )

    assert response.status_code == 200
    assert response.json() == {
        "accepted": 0,
        "duplicates": 0,
        "errors": [
            {
                "index": 0,
                "event_id": "E1",
                "errors": {"learner_id": ["No learner has the LMS id 'L404'."]},
            }
        ],
    }


def test_a_bad_timestamp_alone_is_a_400(api, learner):
    response = api.post(
        URL,
        [{"event_id": "E1", "learner_id": "L1", "kind": "login", "occurred_at": "2026-13-45"}],
        format="json",
    )

    assert response.status_code == 400
    assert response.json()["errors"][0]["errors"] == {
        "occurred_at": ["Not an ISO 8601 timestamp (e.g. 2026-11-30T14:05:00Z)."]
    }


def test_bad_json_is_a_400(api, learner):
    response = api.post(URL, '[{"event_id": ', content_type="application/json")

    assert response.status_code == 400
    assert response.json()["detail"].startswith("JSON parse error")


def test_a_body_that_is_not_a_list_is_a_400(api, learner):
    response = api.post(URL, {"event_id": "E1"}, format="json")

    assert response.status_code == 400
    assert response.json() == {"detail": "The body must be a JSON array of events."}


def test_an_oversized_batch_is_a_400(api, learner):
    response = api.post(URL, [{}] * 1001, format="json")

    assert response.status_code == 400
    assert response.json() == {"detail": "At most 1000 events per request; this one has 1001."}


def test_an_empty_batch_is_fine(api, learner):
    response = api.post(URL, [], format="json")

    assert (response.status_code, response.json()) == (
        200,
        {"accepted": 0, "duplicates": 0, "errors": []},
    )


def test_without_a_valid_token_it_is_a_401(db, learner):
    anonymous, wrong = APIClient(), APIClient()
    wrong.credentials(HTTP_AUTHORIZATION="Token not-a-token")

    for client in (anonymous, wrong):
        response = client.post(URL, [], format="json")
        assert response.status_code == 401
        assert response["WWW-Authenticate"] == "Token"


def test_a_revoked_token_no_longer_works(api, lms_user, learner):
    lms_user.auth_token.delete()

    assert api.post(URL, [], format="json").status_code == 401


def test_a_token_of_a_user_without_permission_is_a_403(db, django_user_model, learner):
    from rest_framework.authtoken.models import Token

    outsider = django_user_model.objects.create_user("otto", password="pw")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=outsider).key}")

    response = client.post(URL, [], format="json")

    assert response.status_code == 403
    assert "may not record activity" in response.json()["detail"]
