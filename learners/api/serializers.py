"""The shapes the activity API reads and writes; also the source of its OpenAPI description."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils.dateparse import parse_datetime
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from learners.models import ActivityEvent

# Events stamped further ahead than this are refused: a skewed LMS clock would otherwise keep a
# learner "active" until that future moment and hide them from every inactivity segment.
MAX_CLOCK_SKEW = dt.timedelta(hours=1)


@extend_schema_field(OpenApiTypes.DATETIME)
class TimestampField(serializers.Field[dt.datetime, str, str, Any]):
    """An ISO 8601 timestamp with an explicit UTC offset.

    Naive timestamps are refused rather than guessed: the LMS and this product may not share a
    time zone, and an hour's error moves learners between inactivity windows.
    """

    default_error_messages = {
        "invalid": "Not an ISO 8601 timestamp (e.g. 2026-11-30T14:05:00Z).",
        "naive": "The timestamp needs a UTC offset (e.g. 2026-11-30T14:05:00Z or +01:00).",
        "future": "The timestamp is in the future.",
    }

    def to_internal_value(self, data: Any) -> dt.datetime:
        if not isinstance(data, str):
            self.fail("invalid")
        try:
            parsed = parse_datetime(data.strip())
        except ValueError:
            parsed = None
        if parsed is None:
            self.fail("invalid")
        if parsed.tzinfo is None:
            self.fail("naive")
        now = self.context.get("now")
        if now is not None and parsed > now + MAX_CLOCK_SKEW:
            self.fail("future")
        return parsed.astimezone(dt.UTC)

    def to_representation(self, value: dt.datetime) -> str:
        return value.isoformat()


class ActivityEventInSerializer(serializers.Serializer[dict[str, Any]]):
    """One event as the LMS sends it. Learner and course are named by their LMS ids."""

    event_id = serializers.CharField(
        max_length=200, help_text="The LMS's unique id for this event; replays are ignored."
    )
    learner_id = serializers.CharField(max_length=100, help_text="The learner's LMS id.")
    course_id = serializers.CharField(
        max_length=100,
        required=False,
        allow_blank=True,
        allow_null=True,
        help_text="The course's LMS id, if the event belongs to a course.",
    )
    kind = serializers.ChoiceField(choices=ActivityEvent.Kind.choices)
    occurred_at = TimestampField(
        help_text="When it happened, ISO 8601 with a UTC offset; at most an hour ahead."
    )


class EventErrorSerializer(serializers.Serializer[dict[str, Any]]):
    index = serializers.IntegerField(help_text="Position of the event in the batch, from 0.")
    event_id = serializers.CharField(allow_null=True, help_text="The event's id, if it had one.")
    # DRF takes declared fields off the class, so "errors" does not shadow Serializer.errors at
    # run time; the type checker cannot know that.
    errors = serializers.DictField(  # type: ignore[assignment]
        child=serializers.ListField(child=serializers.CharField()),
        help_text="Messages by field name; `non_field_errors` for the event as a whole.",
    )


class EventBatchResultSerializer(serializers.Serializer[dict[str, Any]]):
    accepted = serializers.IntegerField(help_text="Events stored by this request.")
    duplicates = serializers.IntegerField(
        help_text="Events already stored (or repeated in the batch); nothing was changed."
    )
    errors = EventErrorSerializer(  # type: ignore[assignment]
        many=True, help_text="Events refused, by position."
    )


class EventBatchRejectedSerializer(serializers.Serializer[dict[str, Any]]):
    detail = serializers.CharField(help_text="What is wrong with the request.")
    accepted = serializers.IntegerField(required=False)
    duplicates = serializers.IntegerField(required=False)
    errors = EventErrorSerializer(  # type: ignore[assignment]
        many=True, required=False, help_text="When every event was refused: why, by position."
    )
