"""Canvas Live Events in Caliper: signed envelopes, the sensor check, the mapping."""

from __future__ import annotations

import base64
import datetime as dt
import http.server
import json
import threading
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from django.test import Client, override_settings
from django.utils import timezone

from learners.models import ActivityEvent, CourseProgress, Learner, LmsStatement
from learners.standards import caliper
from tests.factories import CourseFactory, LearnerFactory
from tests.lms import Credentials, load, make_source

KID = "canvas-test-2026-12"
SENSOR = "http://oxana.instructure.com/"


def new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


KEY = new_key()
OTHER_KEY = new_key()
NEXT_KEY = new_key()


def jwks(*keys: tuple[str, rsa.RSAPrivateKey]) -> dict[str, Any]:
    return {
        "keys": [
            {**json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(k.public_key())), "kid": kid}
            for kid, k in keys
        ]
    }


@pytest.fixture(autouse=True)
def canvas_keys():
    with override_settings(CALIPER_JWKS=jwks(("canvas-previous", OTHER_KEY), (KID, KEY))):
        yield


@pytest.fixture
def canvas(db) -> Credentials:
    return make_source("Canvas", caliper_sensor=SENSOR)


@pytest.fixture
def oxana(db) -> Learner:
    """The Canvas user of the examples, known here by her SIS id."""
    return LearnerFactory.create(
        external_id="456-T45", last_active_at=timezone.now() - dt.timedelta(days=45)
    )


def recent(hours: float = 1) -> str:
    return (timezone.now() - dt.timedelta(hours=hours)).isoformat()


def envelope(name: str, **event: Any) -> dict[str, Any]:
    value = load(f"caliper/canvas/{name}")
    value["data"][0].update(event)
    return value


def sign(claims: Any, key: rsa.RSAPrivateKey = KEY, kid: str = KID) -> str:
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid})


def post(source: Credentials, body: str | bytes, content_type: str = "application/jwt", **extra):
    return Client().post(
        f"/lms/caliper/{source.source.key}", data=body, content_type=content_type, **extra
    )


def test_a_signed_logged_in_event_moves_the_learner(canvas, oxana):
    moment = recent(2)

    response = post(canvas, sign(envelope("logged_in.json", eventTime=moment)))

    assert response.status_code == 200
    assert response.json() == {"stored": 1, "applied": 1, "ignored": 0, "duplicates": 0}
    oxana.refresh_from_db()
    assert oxana.last_active_at == dt.datetime.fromisoformat(moment)
    event = ActivityEvent.objects.get()
    assert (event.external_id, event.kind) == (
        "caliper:urn:uuid:2b6d64bf-5b31-4e2f-b389-c6ebcb232407",
        "login",
    )


def test_a_replayed_envelope_changes_nothing(canvas, oxana):
    token = sign(envelope("logged_in.json", eventTime=recent()))

    post(canvas, token)
    again = post(canvas, token)

    assert again.json() == {"stored": 0, "applied": 0, "ignored": 0, "duplicates": 1}
    assert LmsStatement.objects.count() == ActivityEvent.objects.count() == 1


def test_navigation_in_a_course_is_activity_in_that_course(canvas, oxana):
    course = CourseFactory.create(external_id="565")

    post(canvas, sign(envelope("asset_accessed_assignment.json", eventTime=recent())))

    event = ActivityEvent.objects.get()
    assert (event.kind, event.course, event.learner) == ("active", course, oxana)


def test_a_submitted_quiz_completes_a_module(canvas):
    learner = LearnerFactory.create(external_id="1243245")
    course = CourseFactory.create(external_id="100123")

    post(canvas, sign(envelope("quiz_submitted.json", eventTime=recent())))

    event = ActivityEvent.objects.get()
    assert (event.kind, event.course, event.learner) == ("module_completed", course, learner)
    progress = CourseProgress.objects.get(learner=learner, course=course)
    assert progress.last_module == "urn:instructure:canvas:quiz:11210000002223333"


def test_a_grade_given_by_the_teacher_is_not_the_learners_activity(canvas):
    LearnerFactory.create(external_id="ABC.123")
    LearnerFactory.create(external_id="987")

    response = post(canvas, sign(envelope("grade_change.json", eventTime=recent())))

    assert response.json()["ignored"] == 1
    stored = LmsStatement.objects.get()
    assert stored.reason == "A grade given by someone else is not the learner's activity."
    assert not ActivityEvent.objects.exists()


def test_unknown_learners_are_stored_as_ignored(canvas):
    response = post(canvas, sign(envelope("logged_in.json", eventTime=recent())))

    assert response.status_code == 200
    stored = LmsStatement.objects.get()
    assert (stored.status, stored.reason) == (
        "ignored",
        "No learner matches the actor urn:instructure:canvas:user:21070000000000001.",
    )


@pytest.mark.parametrize(
    ("token", "message"),
    [
        (lambda claims: sign(claims, key=OTHER_KEY), "signature"),
        (lambda claims: sign(claims, kid="unknown"), "No configured key has the id 'unknown'."),
        (lambda claims: sign({**claims, "exp": 1}), "expired"),
        (lambda claims: "not.a.jwt", "not a signed JWT"),
        # The public key used as an HMAC secret must not pass for a signature.
        (
            lambda claims: jwt.encode(claims, "k" * 32, algorithm="HS256", headers={"kid": KID}),
            "alg value is not allowed",
        ),
    ],
)
def test_bad_signatures_are_refused(canvas, oxana, token, message):
    response = post(canvas, token(envelope("logged_in.json", eventTime=recent())))

    assert response.status_code == 401
    assert message in response.json()["detail"]
    assert not LmsStatement.objects.exists()


def test_an_envelope_from_another_canvas_is_refused(canvas, oxana):
    other = {**envelope("logged_in.json", eventTime=recent()), "sensor": "https://evil.example/"}

    response = post(canvas, sign(other))

    assert response.status_code == 403
    assert "https://evil.example/" in response.json()["detail"]


def test_no_configured_keys_means_no_signed_events(canvas, oxana):
    with override_settings(CALIPER_JWKS={}):
        response = post(canvas, sign(envelope("logged_in.json")))

    assert response.status_code == 401
    assert "CALIPER_JWKS" in response.json()["detail"]


def test_an_unsigned_envelope_needs_the_sources_credentials(canvas, oxana):
    body = json.dumps(envelope("logged_in.json", eventTime=recent()))
    other = make_source("Someone else")
    basic = "Basic " + base64.b64encode(f"{other.source.key}:{other.secret}".encode()).decode()

    anonymous = post(canvas, body, content_type="application/json")
    wrong = post(canvas, body, content_type="application/json", HTTP_AUTHORIZATION=basic)
    right = post(canvas, body, content_type="application/json", HTTP_AUTHORIZATION=canvas.header)

    assert anonymous.status_code == wrong.status_code == 401
    assert right.status_code == 200
    assert ActivityEvent.objects.count() == 1


def test_unknown_keys_and_malformed_envelopes(canvas):
    missing = Client().post("/lms/caliper/nope", data="x", content_type="application/jwt")
    no_data = post(canvas, sign({"sensor": SENSOR}))
    no_time = post(canvas, sign(envelope("logged_in.json", eventTime="later")))

    assert missing.status_code == 404
    assert no_data.status_code == no_time.status_code == 400
    assert no_data.json()["detail"] == "Event 0: A Caliper envelope is an object with a data array."
    assert no_time.json()["detail"] == "Event 0: eventTime must be an ISO 8601 date and time."


@pytest.fixture
def published_keys():
    """A local server publishing a JWK set, as Canvas publishes its keys."""
    body = json.dumps(jwks(("canvas-next", NEXT_KEY))).encode()
    hits: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hits.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    caliper._client.cache_clear()
    try:
        yield f"http://127.0.0.1:{server.server_port}/jwks", hits
    finally:
        server.shutdown()
        caliper._client.cache_clear()


def test_a_key_not_configured_is_fetched_from_the_published_set(canvas, oxana, published_keys):
    url, hits = published_keys
    claims = envelope("logged_in.json", eventTime=recent())

    with override_settings(CALIPER_JWKS_URL=url):
        rotated = post(canvas, sign(claims, key=NEXT_KEY, kid="canvas-next"))
        configured = post(canvas, sign({**claims, "sendTime": recent(0.5)}))
        forged = post(canvas, sign(claims, key=OTHER_KEY, kid="canvas-next"))

    assert (rotated.status_code, configured.status_code, forged.status_code) == (200, 200, 401)
    # The configured key needs no fetch; the fetched set is kept for the next events.
    assert hits == ["/jwks"]


def test_a_key_set_that_cannot_be_fetched_asks_canvas_to_retry(canvas, oxana):
    caliper._client.cache_clear()
    claims = envelope("logged_in.json", eventTime=recent())

    with override_settings(CALIPER_JWKS_URL="http://127.0.0.1:9/jwks"):
        response = post(canvas, sign(claims, key=NEXT_KEY, kid="canvas-next"))

    assert response.status_code == 503
    assert "could not be fetched" in response.json()["detail"]
    assert not LmsStatement.objects.exists()


def test_a_signed_envelope_with_text_postgresql_cannot_store_is_a_400(canvas, oxana):
    claims = envelope("logged_in.json", eventTime=recent(), action="Logged\u0000In")

    response = post(canvas, sign(claims))

    assert response.status_code == 400
    assert "NUL character" in response.json()["detail"]
