"""A learner's progress in a course, keyed by (learner LMS id, course LMS id)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from import_export.instance_loaders import BaseInstanceLoader

from learners.imports.base import LookupResource
from learners.imports.widgets import timestamp_field
from learners.lookups import LOOKUP_CHUNK, chunked
from learners.models import CourseProgress
from learners.progress import refresh_completion_rates


class ProgressLoader(BaseInstanceLoader):
    """Loads the existing progress rows for the (learner, course) pairs in the file, attaching the
    pre-loaded learner and course so that neither the diff nor the export queries them again."""

    def __init__(self, resource: Any, dataset: Any = None) -> None:
        super().__init__(resource, dataset)
        self.resource = resource
        learner_pks = sorted({learner.pk for learner in resource.learners.values()})
        course_pks = [course.pk for course in resource.courses.values()]
        learners_by_pk = {learner.pk: learner for learner in resource.learners.values()}
        courses_by_pk = {course.pk: course for course in resource.courses.values()}
        self.instances: dict[tuple[int, int], CourseProgress] = {}
        for chunk in chunked(learner_pks, LOOKUP_CHUNK // 2):
            for progress in CourseProgress.objects.filter(
                learner_id__in=chunk, course_id__in=course_pks
            ):
                progress.learner = learners_by_pk[progress.learner_id]
                progress.course = courses_by_pk[progress.course_id]
                self.instances[(progress.learner_id, progress.course_id)] = progress

    def get_instance(self, row: dict[str, Any]) -> CourseProgress | None:
        learner = self.resource.learners.get(str(row.get("learner") or ""))
        course = self.resource.courses.get(str(row.get("course") or ""))
        if learner is None or course is None:
            return None
        return self.instances.pop((learner.pk, course.pk), None)


class CourseProgressResource(LookupResource):
    """A learner's progress in a course, keyed by (learner LMS id, course LMS id). Rows without
    ``updated_at`` are stamped with the import time. Completion rates follow after the import."""

    updated_at = timestamp_field("updated_at")

    required_columns = ("learner", "course")
    update_fields = (
        "percent_complete",
        "last_module",
        "next_module",
        "resume_url",
        "minutes_remaining",
        "updated_at",
    )

    class Meta:
        model = CourseProgress
        fields = (
            "learner",
            "course",
            "percent_complete",
            "last_module",
            "next_module",
            "resume_url",
            "minutes_remaining",
            "updated_at",
        )
        export_order = fields
        import_id_fields = ("learner", "course")
        instance_loader_class = ProgressLoader

    def filter_export(
        self, queryset: QuerySet[CourseProgress], **kwargs: Any
    ) -> QuerySet[CourseProgress]:
        return queryset.select_related("learner", "course")

    def before_import(self, dataset: Any, **kwargs: Any) -> None:
        super().before_import(dataset, **kwargs)
        self._touched_learners: set[int] = set()

    def before_import_row(self, row: dict[str, Any], **kwargs: Any) -> None:
        super().before_import_row(row, **kwargs)
        if isinstance(row.get("percent_complete"), str):
            row["percent_complete"] = row["percent_complete"].rstrip("%").strip()
        if "updated_at" in row and row["updated_at"] in (None, ""):
            del row["updated_at"]

    def import_instance(self, instance: CourseProgress, row: dict[str, Any], **kwargs: Any) -> None:
        errors: dict[str, Any] = {}
        try:
            super().import_instance(instance, row, **kwargs)
        except ValidationError as exc:
            errors = exc.update_error_dict(errors)
        if instance.updated_at is None:
            instance.updated_at = self.now
        learner_ext, course_ext = row.get("learner"), row.get("course")
        if learner_ext and course_ext:
            first = self.first_row_of((learner_ext, course_ext))
            if first:
                errors.setdefault("course", []).append(
                    f"Learner {learner_ext} in course {course_ext} is also on row {first}."
                )
        if errors:
            raise ValidationError(errors)

    def before_save_instance(
        self, instance: CourseProgress, row: dict[str, Any], **kwargs: Any
    ) -> None:
        if instance.pk is not None and "updated_at" not in row:
            instance.updated_at = self.now
        self._touched_learners.add(instance.learner_id)

    def after_import(self, dataset: Any, result: Any, **kwargs: Any) -> None:
        super().after_import(dataset, result, **kwargs)
        refresh_completion_rates(learner_ids=self._touched_learners)
