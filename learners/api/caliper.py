"""Caliper events: ``POST /lms/caliper/<source key>`` with an envelope.

Canvas Live Events (HTTPS delivery, "Sign Payload" on) post the envelope as a signed JWT; the
signature is checked against ``CALIPER_JWKS``. A sensor that cannot sign may post the envelope
as JSON with the source's HTTP Basic credentials instead. Events are stored and applied like
xAPI statements; unknown learners and unmapped actions are stored as ignored, answered 200.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from learners.api.lms_edge import (
    BadRequest,
    basic_source,
    check_storable,
    error,
    parse_json,
    read_body,
    summary,
)
from learners.models import LmsSource, LmsStatement
from learners.standards import caliper
from learners.standards.mapping import StatementError, store_and_apply


def _envelope(request: HttpRequest, source: LmsSource, body: bytes) -> Any:
    if request.content_type == "application/json" or body.lstrip()[:1] in (b"{", b"["):
        authenticated = basic_source(request)
        if authenticated is None or authenticated.pk != source.pk:
            raise BadRequest(
                "An unsigned envelope needs this source's HTTP Basic credentials.", 401
            )
        return parse_json(body)
    try:
        token = body.decode("ascii").strip()
    except UnicodeDecodeError:
        raise BadRequest("The body is neither JSON nor a JWT.") from None
    try:
        claims = caliper.verify(
            token, jwks=settings.CALIPER_JWKS, jwks_url=settings.CALIPER_JWKS_URL
        )
    except caliper.SignatureError as exc:
        raise BadRequest(str(exc), 401) from None
    except caliper.KeysUnavailable as exc:
        # Not the sender's fault: a 503 makes Canvas deliver the event again later.
        raise BadRequest(str(exc), 503) from None
    check_storable(claims)
    return claims


@csrf_exempt
def events(request: HttpRequest, key: str) -> HttpResponse:
    if request.method != "POST":
        return error("This resource takes POST.", 405, Allow="POST")
    source = LmsSource.objects.filter(key=key, revoked_at__isnull=True).first()
    if source is None:
        return error("No active LMS source has this key.", 404)
    try:
        envelope = _envelope(request, source, read_body(request))
        items = caliper.read_envelope(envelope, source=source)
        if len(items) > settings.LMS_MAX_STATEMENTS:
            raise BadRequest(f"At most {settings.LMS_MAX_STATEMENTS} events per envelope.", 413)
    except BadRequest as exc:
        return error(str(exc), exc.status)
    except StatementError as exc:
        return error(str(exc), 400)
    except caliper.SensorError as exc:
        return error(str(exc), 403)
    result = store_and_apply(
        source=source, standard=LmsStatement.Standard.CALIPER, items=items, now=timezone.now()
    )
    return JsonResponse(summary(result))
