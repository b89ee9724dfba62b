"""What the xAPI, Caliper and Moodle endpoints share: reading a bounded body, credentials.

These endpoints are plain Django views (no DRF): the LMSs speak their own protocols, and a
batch of a hundred statements has to cost milliseconds.
"""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.http import HttpRequest, JsonResponse

from learners.models import LmsSource
from learners.standards.credentials import source_for_basic_auth
from learners.standards.mapping import StoreResult


class BadRequest(Exception):
    """The request cannot be read; ``status`` and the message go back to the sender."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def error(message: str, status: int, **headers: str) -> JsonResponse:
    response = JsonResponse({"detail": message}, status=status)
    for name, value in headers.items():
        response[name.replace("_", "-")] = value
    return response


def read_body(request: HttpRequest) -> bytes:
    """The request body, at most ``LMS_MAX_BODY_BYTES`` (413 beyond)."""
    limit = settings.LMS_MAX_BODY_BYTES
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        raise BadRequest("Content-Length is not a number.") from None
    if declared > limit:
        raise BadRequest(f"The body is {declared} bytes; at most {limit} are accepted.", 413)
    # read() rather than .body: the limit is ours, not DATA_UPLOAD_MAX_MEMORY_SIZE's.
    body = request.read(limit + 1)
    if len(body) > limit:
        raise BadRequest(f"The body is over {limit} bytes; send fewer statements per request.", 413)
    return body


def parse_json(body: bytes) -> Any:
    if not body.strip():
        raise BadRequest("The body is empty; it must be JSON.")
    try:
        value = json.loads(body)
    except (UnicodeDecodeError, ValueError) as exc:
        raise BadRequest(f"The body is not valid JSON: {exc}.") from None
    except RecursionError:
        raise BadRequest("The body's JSON is nested too deeply.") from None
    check_storable(value)
    return value


def check_storable(value: Any) -> None:
    """Refuse JSON that PostgreSQL cannot store (it would fail the request with a 500): text
    with a NUL character or half of a surrogate pair, both valid in JSON."""
    try:
        text = json.dumps(value, ensure_ascii=False)
        text.encode("utf-8")
    except (UnicodeEncodeError, RecursionError):
        raise BadRequest("The JSON holds text that is not valid Unicode.") from None
    if "\x00" in text or "\\u0000" in text:
        raise BadRequest("The JSON holds a NUL character (\\u0000), which cannot be stored.")


def as_batch(value: Any, *, what: str) -> list[Any]:
    """One item or an array of them, at most ``LMS_MAX_STATEMENTS``."""
    items = value if isinstance(value, list) else [value]
    if not items:
        raise BadRequest(f"The array holds no {what}.")
    limit = settings.LMS_MAX_STATEMENTS
    if len(items) > limit:
        raise BadRequest(f"At most {limit} {what} per request; this one has {len(items)}.", 413)
    return items


def basic_source(request: HttpRequest) -> LmsSource | None:
    return source_for_basic_auth(request.META.get("HTTP_AUTHORIZATION", ""))


def summary(result: StoreResult) -> dict[str, Any]:
    """The answer to a batch of events: how many were stored, applied, ignored, replays."""
    return {
        "stored": result.stored,
        "applied": result.applied,
        "ignored": result.ignored,
        "duplicates": result.duplicates,
    }
