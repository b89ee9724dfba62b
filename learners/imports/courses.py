"""Courses, keyed by LMS id."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError

from learners.imports.base import BaseLearnerDataResource, ExternalIdLoader
from learners.models import Course


class CourseResource(BaseLearnerDataResource):
    """Courses keyed by LMS id; ``course_type`` accepts the value or the label, any case."""

    update_fields = ("title", "course_type", "url")
    required_columns = ("external_id", "title")

    class Meta:
        model = Course
        fields = ("external_id", "title", "course_type", "url")
        export_order = fields
        import_id_fields = ("external_id",)
        instance_loader_class = ExternalIdLoader

    def before_import_row(self, row: dict[str, Any], **kwargs: Any) -> None:
        super().before_import_row(row, **kwargs)
        if "course_type" in row:
            value = str(row["course_type"] or "").lower()
            labels = {label.lower(): key for key, label in Course.CourseType.choices}
            if value:
                row["course_type"] = labels.get(value, value)
            else:
                del row["course_type"]

    def import_instance(self, instance: Course, row: dict[str, Any], **kwargs: Any) -> None:
        errors: dict[str, Any] = {}
        try:
            super().import_instance(instance, row, **kwargs)
        except ValidationError as exc:
            errors = exc.update_error_dict(errors)
        first = self.first_row_of(instance.external_id)
        if instance.external_id and first:
            errors.setdefault("external_id", []).append(
                f"LMS id {instance.external_id} is also on row {first} of this file."
            )
        if errors:
            raise ValidationError(errors)
