"""The xAPI statements resource, as a Learning Record Store answers LRS clients.

``POST /xapi/statements`` takes one statement or an array and answers 200 with their ids;
``PUT /xapi/statements?statementId=…`` takes one and answers 204. Every request carries
``X-Experience-API-Version: 1.0.x`` and the LMS source's HTTP Basic credentials. A statement id
already stored is a replay (nothing changes) when the statement is the same and a 409 when it
differs. Statements about unknown learners or with verbs this product does not use are stored
as ignored and still answered 200: an LRS client retries errors, and retrying cannot help.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from learners.api.lms_edge import BadRequest, as_batch, basic_source, error, parse_json, read_body
from learners.models import LmsSource, LmsStatement
from learners.standards import xapi
from learners.standards.mapping import StatementError, StoreResult, store_and_apply

VERSION_HEADER = "X-Experience-API-Version"


def _versioned(response: HttpResponse) -> HttpResponse:
    response[VERSION_HEADER] = xapi.VERSION
    return response


def _store(source: LmsSource, values: list[Any]) -> StoreResult:
    now = timezone.now()
    items = xapi.read_statements(values, now=now)
    return store_and_apply(
        source=source,
        standard=LmsStatement.Standard.XAPI,
        items=items,
        now=now,
        refuse_conflicts=True,
    )


def _conflict(result: StoreResult) -> HttpResponse:
    ids = ", ".join(result.conflicts)
    return error(f"A different statement is already stored under the id {ids}.", 409)


def _post(source: LmsSource, request: HttpRequest) -> HttpResponse:
    values = as_batch(parse_json(read_body(request)), what="statements")
    result = _store(source, values)
    if result.conflicts:
        return _conflict(result)
    return JsonResponse(result.ids, safe=False)


def _put(source: LmsSource, request: HttpRequest) -> HttpResponse:
    raw_id = request.GET.get("statementId", "")
    try:
        statement_id = str(uuid.UUID(raw_id))
    except ValueError:
        raise BadRequest("PUT needs ?statementId= with the statement's UUID.") from None
    value = parse_json(read_body(request))
    if not isinstance(value, dict):
        raise BadRequest("PUT takes one statement, a JSON object.")
    given = value.get("id")
    if given is not None and str(given).lower() != statement_id:
        raise BadRequest(f"The statement's id {given} is not the statementId {statement_id}.")
    result = _store(source, [{**value, "id": statement_id}])
    if result.conflicts:
        return _conflict(result)
    return HttpResponse(status=204)


@csrf_exempt
def statements(request: HttpRequest) -> HttpResponse:
    if request.method not in ("POST", "PUT"):
        return _versioned(error("This resource takes POST and PUT.", 405, Allow="POST, PUT"))
    source = basic_source(request)
    if source is None:
        return _versioned(
            error(
                "HTTP Basic credentials of an active LMS source are required.",
                401,
                WWW_Authenticate='Basic realm="xAPI"',
            )
        )
    if not xapi.version_is_supported(request.headers.get(VERSION_HEADER)):
        return _versioned(error(f"{VERSION_HEADER} must be 1.0.x (e.g. 1.0.3).", 400))
    content_type = request.content_type or ""
    if content_type != "application/json":
        return _versioned(error("Statements must be sent as application/json.", 415))
    try:
        response = _post(source, request) if request.method == "POST" else _put(source, request)
    except StatementError as exc:
        response = error(str(exc), 400)
    except BadRequest as exc:
        response = error(str(exc), exc.status)
    return _versioned(response)


def about(request: HttpRequest) -> HttpResponse:
    """``GET /xapi/about``: the versions this LRS speaks (clients ask before sending)."""
    return _versioned(JsonResponse({"version": [xapi.VERSION]}))
