"""The shape of one activity event as an LMS sends it, however it arrives (the activity API,
the LMS standards endpoints, the importers check the same rules): validated here, recorded by
:mod:`learners.activity`."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.validators import RegexValidator
from django.utils.dateparse import parse_datetime
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from learners.models import ActivityEvent

# Events stamped further ahead than this are refused: a skewed LMS clock would otherwise keep a
# learner "active" until that future moment and hide them from every inactivity segment.
MAX_CLOCK_SKEW = dt.timedelta(hours=1)


# What the OpenAPI document promises is accepted: an RFC 3339 time with an offset, in years
# 1000–8999 (any time the server can convert to UTC and store). The server itself reads any
# ISO 8601 time with an offset.
TIMESTAMP_PATTERN = (
    r"^[1-8][0-9]{3}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])"
    r"T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]{1,6})?"
    r"(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])$"
)
# Text the LMS names things with: something other than spaces, and no NUL.
NAME_PATTERN = r"^[^\x00]*[^\s\x00][^\x00]*$"
OPTIONAL_NAME_PATTERN = r"^[^\x00]*$"


@extend_schema_field(
    {
        "type": "string",
        "format": "date-time",
        "pattern": TIMESTAMP_PATTERN,
        "example": "2026-11-30T14:05:00Z",
    }
)
class TimestampField(serializers.Field[dt.datetime, str, str, Any]):
    """An ISO 8601 timestamp with an explicit UTC offset.

    Naive timestamps are refused rather than guessed: the LMS and this product may not share a
    time zone, and an hour's error moves learners between inactivity windows.
    """

    default_error_messages = {
        "invalid": "Not an ISO 8601 timestamp (e.g. 2026-11-30T14:05:00Z).",
        "naive": "The timestamp needs a UTC offset (e.g. 2026-11-30T14:05:00Z or +01:00).",
        "range": "The timestamp is outside the dates that can be stored.",
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
        try:
            return parsed.astimezone(dt.UTC)
        except (OverflowError, ValueError):
            # 0001-01-01T00:00:00+01:00 is a valid timestamp that falls before year 1 in UTC.
            self.fail("range")

    def to_representation(self, value: dt.datetime) -> str:
        return value.isoformat()


class ActivityEventInSerializer(serializers.Serializer[dict[str, Any]]):
    """One event as the LMS sends it. Learner and course are named by their LMS ids."""

    event_id = serializers.CharField(
        max_length=200,
        validators=[RegexValidator(NAME_PATTERN, "Give an id that is not only spaces.")],
        help_text="The LMS's unique id for this event; replays are ignored.",
    )
    learner_id = serializers.CharField(
        max_length=100,
        validators=[RegexValidator(NAME_PATTERN, "Give an id that is not only spaces.")],
        help_text="The learner's LMS id.",
    )
    course_id = serializers.CharField(
        max_length=100,
        required=False,
        allow_blank=True,
        allow_null=True,
        validators=[RegexValidator(OPTIONAL_NAME_PATTERN, "Null characters are not allowed.")],
        help_text="The course's LMS id, if the event belongs to a course.",
    )
    kind = serializers.ChoiceField(choices=ActivityEvent.Kind.choices)
    occurred_at = TimestampField(
        help_text=(
            "When it happened, ISO 8601 with a UTC offset. An event more than an hour ahead of "
            "the server's clock is refused (listed in `errors`)."
        )
    )
