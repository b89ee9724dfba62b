"""Moodle's own events: ``POST /lms/moodle/events`` with one event's JSON (or an array).

The source signs in with HTTP Basic, or, since the webhook plugin cannot send headers, with its
``token`` field set to ``<user name>:<secret>``. Events are stored and applied like xAPI
statements; those that mean nothing here are stored as ignored and answered 200.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from learners.api.lms_edge import (
    BadRequest,
    as_batch,
    basic_source,
    error,
    parse_json,
    read_body,
    summary,
)
from learners.models import LmsStatement
from learners.standards import moodle
from learners.standards.credentials import source_for_credentials
from learners.standards.mapping import StatementError, store_and_apply


@csrf_exempt
def events(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return error("This resource takes POST.", 405, Allow="POST")
    try:
        payload = parse_json(read_body(request))
        source = basic_source(request)
        if source is None:
            key, _, secret = moodle.token_of(payload).partition(":")
            source = source_for_credentials(key, secret) if secret else None
        if source is None:
            raise BadRequest("Credentials of an active LMS source are required.", 401)
        items = [
            moodle.read_event(value, index=i)
            for i, value in enumerate(as_batch(payload, what="events"))
        ]
    except BadRequest as exc:
        return error(str(exc), exc.status)
    except StatementError as exc:
        return error(str(exc), 400)
    result = store_and_apply(
        source=source, standard=LmsStatement.Standard.MOODLE, items=items, now=timezone.now()
    )
    return JsonResponse(summary(result))
