"""A learner who comes back in the LMS leaves the drip at the next pass, whichever standard
told us: an xAPI statement from Moodle or Open edX, a Caliper event from Canvas, a Moodle event.

The drip runs on real past days (activity stamped ahead of the clock is refused), starting on a
Tuesday so that no step falls on a weekend.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from django.core import mail
from django.test import Client, override_settings
from django.utils import timezone

from campaigns.delivery import deliver as delivery
from campaigns.engine import run as engine
from campaigns.models import Enrollment, Send
from learners.models import Learner
from tests.campaigns.conftest import make_drip
from tests.factories import CourseProgressFactory, LearnerFactory
from tests.lms import Credentials, load, make_source

KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
JWKS = {"keys": [{**json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(KEY.public_key())), "kid": "k"}]}


def first_day() -> dt.datetime:
    """09:00 UTC on the latest Tuesday at least ten days ago."""
    start = (timezone.now() - dt.timedelta(days=10)).replace(
        hour=9, minute=0, second=0, microsecond=0
    )
    return start - dt.timedelta(days=(start.weekday() - 1) % 7)


def xapi(source: Credentials, body: Any, *, query: str = "", method: str = "post") -> int:
    call = getattr(Client(), method)
    response = call(
        "/xapi/statements" + query,
        data=json.dumps(body),
        content_type="application/json",
        HTTP_AUTHORIZATION=source.header,
        HTTP_X_EXPERIENCE_API_VERSION="1.0.3",
    )
    return int(response.status_code)


def moodle_xapi(source: Credentials, at: dt.datetime) -> int:
    return xapi(source, load("xapi/moodle/chapter_viewed.json", timestamp=at.isoformat()))


def openedx_xapi(source: Credentials, at: dt.datetime) -> int:
    statement = load("xapi/openedx/play_video.json", timestamp=at.isoformat())
    return xapi(source, statement, method="put", query=f"?statementId={statement['id']}")


def canvas_caliper(source: Credentials, at: dt.datetime) -> int:
    envelope = load("caliper/canvas/logged_in.json")
    envelope["data"][0]["eventTime"] = at.isoformat()
    token = jwt.encode(envelope, KEY, algorithm="RS256", headers={"kid": "k"})
    url = f"/lms/caliper/{source.source.key}"
    return int(Client().post(url, data=token, content_type="application/jwt").status_code)


def moodle_event(source: Credentials, at: dt.datetime) -> int:
    event = load("moodle/user_loggedin.json", timecreated=int(at.timestamp()))
    response = Client().post(
        "/lms/moodle/events",
        data=json.dumps(event),
        content_type="application/json",
        HTTP_AUTHORIZATION=source.header,
    )
    return int(response.status_code)


CHANNELS: dict[str, tuple[str, Callable[[Credentials, dt.datetime], int]]] = {
    "moodle xapi": ("1", moodle_xapi),
    "open edx xapi": ("32e08e30-f8ae-4ce2-94a8-c2bfe38a70cb", openedx_xapi),
    "canvas caliper": ("456-T45", canvas_caliper),
    "moodle event": ("1", moodle_event),
}


@pytest.mark.django_db
@pytest.mark.parametrize("channel", list(CHANNELS))
@override_settings(
    EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend",
    PUBLIC_BASE_URL="https://learn.example.com",
    CALIPER_JWKS=JWKS,
)
def test_activity_from_the_lms_ends_the_drip_at_the_next_pass(channel: str) -> None:
    external_id, send_activity = CHANNELS[channel]
    day0 = first_day()
    make_drip()
    returner, stayer = (
        CourseProgressFactory.create(
            learner=LearnerFactory.create(last_active_at=day0 - dt.timedelta(days=45), **fields)
        ).learner
        for fields in ({"external_id": external_id}, {})
    )
    source = make_source("LMS", caliper_sensor="http://oxana.instructure.com/")

    for day in (0, 1):
        engine.run_pass(now=day0 + dt.timedelta(days=day))
        delivery.deliver_queued(now=day0 + dt.timedelta(days=day))
    came_back = day0 + dt.timedelta(days=1, hours=2)
    assert send_activity(source, came_back) in (200, 204)
    assert Learner.objects.get(pk=returner.pk).last_active_at == came_back
    for day in (2, 3, 4):
        engine.run_pass(now=day0 + dt.timedelta(days=day))
        delivery.deliver_queued(now=day0 + dt.timedelta(days=day))

    enrollment = Enrollment.objects.get(learner=returner)
    assert (enrollment.status, enrollment.reactivated_at) == ("reactivated", came_back)
    assert enrollment.ended_at == day0 + dt.timedelta(days=2)
    assert not Send.objects.filter(learner=returner, step__position=2).exists()
    subjects = [m.subject for m in mail.outbox if m.to == [returner.email]]
    assert subjects == [
        f"Day 0: {returner.first_name}, your course is waiting",
        f"Welcome back, {returner.first_name}!",
    ]
    # The learner who stayed away gets the day-3 step: the drip itself went on.
    assert f"Day 3: {stayer.first_name}, your course is waiting" in [
        m.subject for m in mail.outbox if m.to == [stayer.email]
    ]
