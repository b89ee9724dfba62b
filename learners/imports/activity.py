"""LMS activity events, keyed by event id."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from learners.activity import advance_last_active, existing_event_ids, latest_by_learner
from learners.imports.base import ExternalIdLoader, LookupResource, column_values
from learners.imports.widgets import timestamp_field
from learners.models import ActivityEvent


class ActivityEventResource(LookupResource):
    """LMS events keyed by event id. An event already stored (or repeated in the file) is a
    replay and changes nothing; new events move their learner's ``last_active_at`` forward."""

    occurred_at = timestamp_field("occurred_at")

    required_columns = ("external_id", "learner", "kind", "occurred_at")

    class Meta:
        model = ActivityEvent
        fields = ("external_id", "learner", "course", "kind", "occurred_at")
        export_order = fields
        import_id_fields = ("external_id",)
        instance_loader_class = ExternalIdLoader

    def filter_export(
        self, queryset: QuerySet[ActivityEvent], **kwargs: Any
    ) -> QuerySet[ActivityEvent]:
        return queryset.select_related("learner", "course")

    def before_import(self, dataset: Any, **kwargs: Any) -> None:
        super().before_import(dataset, **kwargs)
        self._new_events: list[ActivityEvent] = []
        # Stored before this import, or saved earlier in it: either way a replay.
        self._known_event_ids = existing_event_ids(column_values(dataset, "external_id"))

    def before_import_row(self, row: dict[str, Any], **kwargs: Any) -> None:
        super().before_import_row(row, **kwargs)
        if "kind" in row:
            value = str(row["kind"] or "").lower()
            labels = {label.lower(): key for key, label in ActivityEvent.Kind.choices}
            row["kind"] = labels.get(value, value)

    def skip_row(
        self,
        instance: ActivityEvent,
        original: ActivityEvent,
        row: dict[str, Any],
        import_validation_errors: dict[str, Any] | None = None,
    ) -> bool:
        if original is not None and original.pk is not None:
            return True
        return instance.external_id in self._known_event_ids

    def before_save_instance(
        self, instance: ActivityEvent, row: dict[str, Any], **kwargs: Any
    ) -> None:
        self._known_event_ids.add(instance.external_id)
        self._new_events.append(instance)

    def after_import(self, dataset: Any, result: Any, **kwargs: Any) -> None:
        super().after_import(dataset, result, **kwargs)
        advance_last_active(latest=latest_by_learner(self._new_events))
