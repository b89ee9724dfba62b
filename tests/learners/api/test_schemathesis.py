"""Schemathesis against the schema the app serves: every request the OpenAPI document allows is
accepted (2xx), and no request, allowed or not, gets a 5xx.

Bounded and seeded so that it runs in well under a minute and finds the same cases every
time; a failure prints the request to replay. Run with more examples by setting
``SCHEMATHESIS_EXAMPLES`` (e.g. 2000) to look further.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from rest_framework.authtoken.models import Token
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error, positive_data_acceptance

from tests.factories import CourseFactory, LearnerFactory

EXAMPLES = int(os.environ.get("SCHEMATHESIS_EXAMPLES", "150"))
SEED = 20261201

schema = schemathesis.openapi.from_wsgi("/api/schema/", get_wsgi_application())
schema.config.seed = SEED
schema.config.generation.update(
    modes=[GenerationMode.POSITIVE], max_examples=EXAMPLES, deterministic=True
)
schema.config.phases.update(phases=["examples", "fuzzing"])


@pytest.fixture
def token(lms_user) -> Iterator[str]:
    # Some generated events name learners and courses that exist, so stored events are
    # exercised too, not only refusals.
    LearnerFactory.create(external_id="0")
    CourseFactory.create(external_id="0")
    # Requests go straight to the WSGI app, in the test's transaction: like Django's test
    # client, keep the end of a request from closing the test's database connection.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield Token.objects.create(user=lms_user).key
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_the_api_accepts_what_its_schema_allows_and_never_fails(case, token):
    case.call_and_validate(
        headers={"Authorization": f"Token {token}"},
        checks=[not_a_server_error, positive_data_acceptance],
    )
