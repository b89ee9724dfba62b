"""The activity API: the LMS pushes batches of learner events."""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import permissions, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from learners.activity import BatchResult, record_events
from learners.api.parsers import MAX_BODY_BYTES, BoundedJSONParser
from learners.api.serializers import (
    DetailSerializer,
    EventBatchRejectedSerializer,
    EventBatchResultSerializer,
)
from learners.event_shape import ActivityEventInSerializer

# Bounded so a batch is a few queries and a few megabytes; an LMS sends more in more requests.
MAX_BATCH = 1000


class CanRecordActivity(permissions.BasePermission):
    """The token's user must be allowed to add activity events (staff grant this per user)."""

    message = "This token's user may not record activity (needs learners.add_activityevent)."

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and user.has_perm("learners.add_activityevent"))


def _body(result: BatchResult) -> dict[str, Any]:
    return {
        "accepted": result.accepted,
        "duplicates": result.duplicates,
        "errors": [
            {"index": error.index, "event_id": error.event_id, "errors": error.errors}
            for error in result.errors
        ],
    }


class BatchSchema(AutoSchema):
    """Puts a list serializer's ``max_length`` in the document as ``maxItems`` (the generator
    leaves it out), so the limit on a batch is part of the contract."""

    def _get_request_for_media_type(self, serializer: Any, direction: str = "request") -> Any:
        schema, required = super()._get_request_for_media_type(  # type: ignore[no-untyped-call]
            serializer, direction
        )
        max_length = getattr(serializer, "max_length", None)
        if isinstance(schema, dict) and schema.get("type") == "array" and max_length:
            schema = {**schema, "maxItems": max_length}
        return schema, required


class ActivityEventsView(APIView):
    """Record a batch of activity events."""

    schema = BatchSchema()
    parser_classes = [BoundedJSONParser]
    permission_classes = [permissions.IsAuthenticated, CanRecordActivity]

    @extend_schema(
        operation_id="record_activity_events",
        summary="Record a batch of learner activity events",
        description=(
            "The body is a JSON array of at most 1000 events. Each event is checked on its own: "
            "valid events are stored and move their learner's `last_active_at` forward (never "
            "backward, whatever order events arrive in); refused events are listed in `errors` "
            "by their position in the array (from 0). An event whose `event_id` is already "
            "stored is a duplicate: nothing changes and it is not an error, so a batch can be "
            "retried safely.\n\n"
            "**200** when the body is a JSON array of at most 1000 events and at least one of "
            "them has the shape below: events refused for what they say (an unknown learner "
            "or course, a time more than an hour ahead) are listed in `errors`. **400** when "
            "the body is not JSON (or nests too deeply), not an array, longer than 1000 "
            "events, or when no event in it has the shape below (then `errors` says why). "
            "**401** without a valid token (`Authorization: Token <key>`). **403** when the "
            "token's user may not record activity. **413** when the body is larger than "
            f"{MAX_BODY_BYTES // (1024 * 1024)} MB. **415** when the body is not sent as "
            "`application/json`."
        ),
        request=ActivityEventInSerializer(many=True, max_length=MAX_BATCH),  # type: ignore[call-arg]
        responses={
            200: OpenApiResponse(
                EventBatchResultSerializer,
                description="Stored what was valid; refused events (if any) are in `errors`.",
            ),
            400: OpenApiResponse(
                EventBatchRejectedSerializer,
                description="Not a JSON array of at most 1000 events, or no event in it valid.",
            ),
            401: OpenApiResponse(DetailSerializer, description="Missing or invalid token."),
            403: OpenApiResponse(
                DetailSerializer, description="The token's user may not record activity."
            ),
            413: OpenApiResponse(DetailSerializer, description="The body is too large."),
            415: OpenApiResponse(DetailSerializer, description="The body is not JSON."),
        },
        examples=[
            # The schema generator wraps a list request's example in the list itself.
            OpenApiExample(
                "A module completed",
                request_only=True,
                value={
                    "event_id": "evt-20261130-0001",
                    "learner_id": "L000123",
                    "course_id": "C-GDPR",
                    "kind": "module_completed",
                    "occurred_at": "2026-11-30T14:05:00Z",
                },
            ),
            OpenApiExample(
                "One stored, one replayed, one refused",
                response_only=True,
                status_codes=["200"],
                value={
                    "accepted": 1,
                    "duplicates": 1,
                    "errors": [
                        {
                            "index": 2,
                            "event_id": "evt-20261130-0003",
                            "errors": {"learner_id": ["No learner has the LMS id 'L999'."]},
                        }
                    ],
                },
            ),
        ],
        tags=["activity"],
    )
    def post(self, request: Request) -> Response:
        payload = request.data
        if not isinstance(payload, list):
            return Response(
                {"detail": "The body must be a JSON array of events."},
                status=status.HTTP_400_BAD_REQUEST,
            )
        if len(payload) > MAX_BATCH:
            return Response(
                {"detail": f"At most {MAX_BATCH} events per request; this one has {len(payload)}."},
                status=status.HTTP_400_BAD_REQUEST,
            )
        result = record_events(payload=payload, now=timezone.now())
        if result.nothing_readable:
            return Response(
                {"detail": "No event in the batch was valid.", **_body(result)},
                status=status.HTTP_400_BAD_REQUEST,
            )
        return Response(_body(result), status=status.HTTP_200_OK)
