"""The shapes the activity API reads and writes; also the source of its OpenAPI description."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers


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


class DetailSerializer(serializers.Serializer[dict[str, Any]]):
    detail = serializers.CharField(help_text="What is wrong with the request.")
