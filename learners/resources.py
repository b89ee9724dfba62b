"""django-import-export resources: how learner files map onto rows, in the admin and on the shell.

The same resources serve the admin's dry-run preview and ``manage.py import_data``. They are
built for files of a few hundred thousand rows: everything a row needs from the database
(existing instances, email owners, managers, the learners and courses that progress and events
name) is loaded up front in a few chunked queries, rows are written with ``bulk_create`` and
``bulk_update``, and every check that could make a bulk write fail (duplicates inside the file,
an email owned by another learner, an unknown LMS id) is made per row instead, so a bad row is
reported with its number and never takes the good ones down with it.
"""

from __future__ import annotations

import copy
import datetime as dt
import functools
import zoneinfo
from collections.abc import Callable, Iterable
from typing import Any, ClassVar

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db.models import Exists, Model, OuterRef, QuerySet, Subquery
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from import_export import fields, resources, widgets
from import_export.instance_loaders import BaseInstanceLoader

from learners.activity import (
    LOOKUP_CHUNK,
    advance_last_active,
    chunked,
    existing_event_ids,
    latest_by_learner,
)
from learners.api.serializers import MAX_CLOCK_SKEW
from learners.models import ActivityEvent, Course, CourseProgress, Learner, Manager, normalize_email
from learners.progress import refresh_completion_rates

# Spreadsheet programs run a cell that starts with one of these as a formula (OWASP "CSV
# injection"); tab and CR are on the list because some programs strip them and then see "=".
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def neutralize_formula(value: Any) -> Any:
    """Prefix a text cell that a spreadsheet would evaluate with ``'`` so it stays text."""
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value


def restore_neutralized(value: str) -> str:
    """Undo :func:`neutralize_formula`, so an exported file imports back unchanged."""
    if value.startswith("'") and value[1:2] and value[1] in FORMULA_TRIGGERS:
        return value[1:]
    return value


@functools.cache
def _time_zones_by_lower_name() -> dict[str, str]:
    return {name.lower(): name for name in zoneinfo.available_timezones()}


def canonical_time_zone(value: str) -> str:
    """``europe/berlin`` → ``Europe/Berlin``; unknown names are returned as given (and fail
    validation with the model's message)."""
    return _time_zones_by_lower_name().get(value.lower(), value)


class TimestampWidget(widgets.Widget):
    """Reads ISO 8601 (``2026-11-30T14:05:00Z``, ``2026-11-30 14:05``, ``2026-11-30``) and
    spreadsheet date cells; writes ISO 8601 in UTC. Times without an offset are UTC: LMS
    exports are UTC unless they say otherwise, and the server's own zone is no better a guess."""

    def clean(self, value: Any, row: Any = None, **kwargs: Any) -> dt.datetime | None:
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        if isinstance(value, dt.datetime):
            parsed: dt.datetime | None = value
        elif isinstance(value, dt.date):
            parsed = dt.datetime.combine(value, dt.time())
        else:
            text = str(value).strip()
            try:
                parsed = parse_datetime(text)
                if parsed is None and (day := parse_date(text)) is not None:
                    parsed = dt.datetime.combine(day, dt.time())
            except ValueError:
                parsed = None
        if parsed is None:
            raise ValueError(f"{value!r} is not a date and time (use e.g. 2026-11-30T14:05:00Z).")
        if timezone.is_naive(parsed):
            parsed = parsed.replace(tzinfo=dt.UTC)
        return parsed.astimezone(dt.UTC)

    def render(self, value: Any, obj: Any = None, **kwargs: Any) -> str:
        if not isinstance(value, dt.datetime):
            return ""
        return value.astimezone(dt.UTC).isoformat()


class ExternalIdWidget(widgets.Widget):
    """A foreign key given by the related row's LMS id, resolved from a dict the resource fills
    before the import starts (one query per chunk of ids instead of one per row)."""

    def __init__(self, label: str) -> None:
        super().__init__()
        self.label = label
        self.lookup: dict[str, Model] = {}

    def clean(self, value: Any, row: Any = None, **kwargs: Any) -> Model | None:
        if value is None or value == "":
            return None
        found = self.lookup.get(str(value))
        if found is None:
            raise ValueError(f"No {self.label} has the LMS id {value!r}.")
        return found

    def render(self, value: Any, obj: Any = None, **kwargs: Any) -> str:
        return "" if value is None else str(value.external_id)


def normalize_header(header: Any) -> str:
    """``" External ID "`` → ``external_id``: headers typed by people still match columns."""
    return "_".join(str(header or "").lower().split())


def _cell_text(value: Any) -> Any:
    """Tidy one cell: strip text, undo formula neutralizing, and turn the floats a spreadsheet
    makes of whole numbers (LMS id 1042 read back as 1042.0) into integers."""
    if isinstance(value, str):
        return restore_neutralized(value.strip())
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _column_values(dataset: Any, column: str) -> list[str]:
    if column not in (dataset.headers or []):
        return []
    values = (_cell_text(value) for value in dataset[column])
    return [str(value) for value in values if value not in (None, "")]


def _load_by_external_id(queryset: QuerySet[Any], external_ids: Iterable[str]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for chunk in chunked(sorted(set(external_ids)), LOOKUP_CHUNK):
        found.update((obj.external_id, obj) for obj in queryset.filter(external_id__in=chunk))
    return found


class ExternalIdLoader(BaseInstanceLoader):
    """Loads every existing row the file names by ``external_id`` in a few queries.

    An instance is handed out once: a second row with the same LMS id gets a fresh instance
    (and the resource reports it as a duplicate) instead of silently overwriting the first
    row's changes on the shared object.
    """

    def __init__(self, resource: Any, dataset: Any = None) -> None:
        super().__init__(resource, dataset)
        self.instances = _load_by_external_id(
            resource.get_queryset(), _column_values(dataset, "external_id")
        )

    def get_instance(self, row: dict[str, Any]) -> Any:
        return self.instances.pop(str(row.get("external_id") or ""), None)


class BaseLearnerDataResource(resources.ModelResource):
    """What every resource here shares: tidy cells and headers, bulk writes, formula-safe
    exports, per-row checks that stand in for the per-row queries of ``full_clean``."""

    #: Foreign keys filled from pre-loaded lookups; ``full_clean`` would query each one per row.
    trusted_foreign_keys: ClassVar[tuple[str, ...]] = ()
    #: Model fields written by ``bulk_update`` for changed rows.
    update_fields: ClassVar[tuple[str, ...]] = ()

    def __init__(
        self,
        *,
        now: dt.datetime | None = None,
        on_row: Callable[[], object] | None = None,
        preview: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        # The admin and the commands are the edge: they may leave ``now`` to the clock.
        self.now = now or timezone.now()
        self.on_row = on_row
        if not preview:
            # The HTML diff is only for the admin's preview; on the command line it is the
            # single slowest step of a row.
            meta = copy.copy(self._meta)  # type: ignore[has-type]
            meta.skip_html_diff = True
            self._meta = meta
        self._first_row_of: dict[Any, int] = {}
        self.row_number: int | None = None

    # -- import ---------------------------------------------------------------------------

    def get_import_fields(self) -> list[Any]:
        # Read-only columns are exported for information and ignored on import.
        return [field for field in super().get_import_fields() if not field.readonly]

    def before_import(self, dataset: Any, **kwargs: Any) -> None:
        dataset.headers = [normalize_header(header) for header in dataset.headers]

    def before_import_row(self, row: dict[str, Any], **kwargs: Any) -> None:
        for key, value in row.items():
            row[key] = _cell_text(value)

    def import_row(self, row: Any, instance_loader: Any, **kwargs: Any) -> Any:
        # Some hooks (skip_row) are not told the row number; the checks below need it.
        self.row_number = kwargs.get("row_number")
        row_result = super().import_row(row, instance_loader, **kwargs)
        if self.on_row is not None:
            self.on_row()
        return row_result

    def first_row_of(self, key: Any) -> int | None:
        """The earlier row of this file where ``key`` first appeared, if any."""
        if self.row_number is None:
            return None
        first = self._first_row_of.setdefault(key, self.row_number)
        return first if first != self.row_number else None

    def validate_instance(
        self,
        instance: Any,
        import_validation_errors: dict[str, Any] | None = None,
        validate_unique: bool = True,
    ) -> None:
        # Uniqueness and constraints are checked against the pre-loaded lookups instead (a
        # query per row each); the database's unique indexes remain the final guard.
        errors = dict(import_validation_errors or {})
        try:
            instance.full_clean(
                exclude=[*errors, *self.trusted_foreign_keys],
                validate_unique=False,
                validate_constraints=False,
            )
        except ValidationError as exc:
            errors = exc.update_error_dict(errors)
        if errors:
            raise ValidationError(errors)

    def get_bulk_update_fields(self) -> list[str]:
        return list(self.update_fields)

    # -- export ---------------------------------------------------------------------------

    def export_field(self, field: Any, instance: Any, **kwargs: Any) -> Any:
        return neutralize_formula(super().export_field(field, instance, **kwargs))


def _timestamp_field(attribute: str, *, readonly: bool = False) -> fields.Field:
    return fields.Field(
        attribute=attribute, column_name=attribute, widget=TimestampWidget(), readonly=readonly
    )


class LearnerResource(BaseLearnerDataResource):
    """Learners keyed by LMS id, with their manager given as ``manager_email``/``manager_name``.

    Contactability (unsubscribed, suppressed, sunset) is exported but never imported: a file
    from the LMS cannot re-subscribe anyone. ``last_active_at`` only moves forward.
    """

    manager_email = fields.Field(column_name="manager_email")
    manager_name = fields.Field(column_name="manager_name")
    last_active_at = _timestamp_field("last_active_at")
    unsubscribed_at = _timestamp_field("unsubscribed_at", readonly=True)
    suppressed_at = _timestamp_field("suppressed_at", readonly=True)
    suppression_reason = fields.Field(
        attribute="suppression_reason", column_name="suppression_reason", readonly=True
    )
    sunset_at = _timestamp_field("sunset_at", readonly=True)

    trusted_foreign_keys = ("manager",)
    update_fields = (
        "email",
        "first_name",
        "last_name",
        "role",
        "team",
        "manager",
        "time_zone",
        "locale",
        "last_active_at",
        "updated_at",
    )

    class Meta:
        model = Learner
        fields = (
            "external_id",
            "email",
            "first_name",
            "last_name",
            "role",
            "team",
            "manager_email",
            "manager_name",
            "time_zone",
            "locale",
            "last_active_at",
            "unsubscribed_at",
            "suppressed_at",
            "suppression_reason",
            "sunset_at",
        )
        export_order = fields
        import_id_fields = ("external_id",)
        instance_loader_class = ExternalIdLoader
        use_bulk = True
        batch_size = 1000
        skip_unchanged = True
        report_skipped = True
        clean_model_instances = True

    def get_queryset(self) -> QuerySet[Learner]:
        return Learner.objects.all()

    def filter_export(self, queryset: QuerySet[Learner], **kwargs: Any) -> QuerySet[Learner]:
        return queryset.select_related("manager")

    def dehydrate_manager_email(self, learner: Learner) -> str:
        return learner.manager.email if learner.manager else ""

    def dehydrate_manager_name(self, learner: Learner) -> str:
        return learner.manager.name if learner.manager else ""

    def before_import(self, dataset: Any, **kwargs: Any) -> None:
        super().before_import(dataset, **kwargs)
        emails = {normalize_email(value) for value in _column_values(dataset, "email")}
        self._email_owner: dict[str, str] = {}
        for chunk in chunked(sorted(emails), LOOKUP_CHUNK):
            self._email_owner.update(
                Learner.objects.filter(email__in=chunk).values_list("email", "external_id")
            )
        manager_emails = {
            normalize_email(value) for value in _column_values(dataset, "manager_email")
        }
        self._managers: dict[str, Manager] = {}
        for chunk in chunked(sorted(manager_emails), LOOKUP_CHUNK):
            self._managers.update((m.email, m) for m in Manager.objects.filter(email__in=chunk))
        self._manager_renames: dict[int, str] = {}

    def before_import_row(self, row: dict[str, Any], **kwargs: Any) -> None:
        super().before_import_row(row, **kwargs)
        for column in ("email", "manager_email"):
            if column in row:
                row[column] = normalize_email(str(row[column] or ""))
        if row.get("time_zone"):
            row["time_zone"] = canonical_time_zone(str(row["time_zone"]))
        # A blank time zone or locale keeps what the learner has (or the default), rather than
        # failing the row or wiping a value the LMS simply did not export.
        for column in ("time_zone", "locale"):
            if column in row and row[column] in (None, ""):
                del row[column]

    def import_instance(self, instance: Learner, row: dict[str, Any], **kwargs: Any) -> None:
        previous_activity = instance.last_active_at
        errors: dict[str, Any] = {}
        try:
            super().import_instance(instance, row, **kwargs)
        except ValidationError as exc:
            errors = exc.update_error_dict(errors)
        if previous_activity and (
            instance.last_active_at is None or instance.last_active_at < previous_activity
        ):
            instance.last_active_at = previous_activity

        if instance.external_id:
            first = self.first_row_of(("external_id", instance.external_id))
            if first:
                errors.setdefault("external_id", []).append(
                    f"LMS id {instance.external_id} is also on row {first} of this file."
                )
        if instance.email:
            owner = self._email_owner.get(instance.email)
            if owner is not None and owner != instance.external_id:
                errors.setdefault("email", []).append(
                    f"{instance.email} belongs to another learner (LMS id {owner})."
                )
            first = self.first_row_of(("email", instance.email))
            if first:
                errors.setdefault("email", []).append(
                    f"{instance.email} is also on row {first} of this file."
                )
        if "manager_email" in row:
            try:
                self._assign_manager(instance, row)
            except ValidationError as exc:
                errors.setdefault("manager_email", []).extend(exc.messages)
        if errors:
            raise ValidationError(errors)

    def _assign_manager(self, instance: Learner, row: dict[str, Any]) -> None:
        email = row.get("manager_email") or ""
        name = str(row.get("manager_name") or "")
        if not email:
            if name:
                raise ValidationError("A manager name needs the manager's email.")
            instance.manager = None
            return
        validate_email(email)
        if email == instance.email:
            raise ValidationError("A learner cannot be their own manager.")
        manager = self._managers.get(email)
        if manager is None:
            # Saved only when a valid row needs it (before_save_instance): a bad row creates
            # no manager.
            manager = Manager(email=email, name=name)
            self._managers[email] = manager
        elif manager.pk and name and name != manager.name:
            self._manager_renames[manager.pk] = name
        instance.manager = manager

    def skip_row(
        self,
        instance: Learner,
        original: Learner,
        row: dict[str, Any],
        import_validation_errors: dict[str, Any] | None = None,
    ) -> bool:
        if not super().skip_row(instance, original, row, import_validation_errors):
            return False
        # The manager columns map to no model attribute, so import-export cannot compare them.
        if "manager_email" not in row:
            return True
        email = row.get("manager_email") or ""
        if not email:
            return original.manager_id is None
        manager = self._managers[email]
        return (
            manager.pk is not None
            and manager.pk == original.manager_id
            and manager.pk not in self._manager_renames
        )

    def before_save_instance(self, instance: Learner, row: dict[str, Any], **kwargs: Any) -> None:
        email = row.get("manager_email")
        if email:
            manager = self._managers[email]
            if manager.pk is None:
                manager.save()
            instance.manager = manager
        if instance.pk is not None:
            # bulk_update does not apply auto_now.
            instance.updated_at = self.now

    def after_import(self, dataset: Any, result: Any, **kwargs: Any) -> None:
        super().after_import(dataset, result, **kwargs)
        if self._manager_renames:
            renamed = [Manager(pk=pk, name=name) for pk, name in self._manager_renames.items()]
            Manager.objects.bulk_update(renamed, ["name"], batch_size=500)
        link_managers_to_learners()


def link_managers_to_learners() -> int:
    """Link every manager not yet linked to the learner with the same email, in one UPDATE."""
    same_email = Learner.objects.filter(email=OuterRef("email"))
    return (
        Manager.objects.filter(learner__isnull=True)
        .filter(Exists(same_email))
        .update(learner=Subquery(same_email.values("pk")[:1]))
    )


class CourseResource(BaseLearnerDataResource):
    """Courses keyed by LMS id; ``course_type`` accepts the value or the label, any case."""

    update_fields = ("title", "course_type", "url")

    class Meta:
        model = Course
        fields = ("external_id", "title", "course_type", "url")
        export_order = fields
        import_id_fields = ("external_id",)
        instance_loader_class = ExternalIdLoader
        use_bulk = True
        batch_size = 1000
        skip_unchanged = True
        report_skipped = True
        clean_model_instances = True

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


class _LookupResource(BaseLearnerDataResource):
    """A resource whose ``learner`` and ``course`` columns hold LMS ids."""

    learner = fields.Field(
        attribute="learner", column_name="learner", widget=ExternalIdWidget("learner")
    )
    course = fields.Field(
        attribute="course", column_name="course", widget=ExternalIdWidget("course")
    )

    trusted_foreign_keys = ("learner", "course")

    def before_import(self, dataset: Any, **kwargs: Any) -> None:
        super().before_import(dataset, **kwargs)
        self.learners: dict[str, Any] = _load_by_external_id(
            Learner.objects.only("pk", "external_id"), _column_values(dataset, "learner")
        )
        self.courses: dict[str, Any] = _load_by_external_id(
            Course.objects.only("pk", "external_id"), _column_values(dataset, "course")
        )
        self.fields["learner"].widget.lookup = self.learners
        self.fields["course"].widget.lookup = self.courses


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


class CourseProgressResource(_LookupResource):
    """A learner's progress in a course, keyed by (learner LMS id, course LMS id). Rows without
    ``updated_at`` are stamped with the import time. Completion rates follow after the import."""

    updated_at = _timestamp_field("updated_at")

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
        use_bulk = True
        batch_size = 1000
        skip_unchanged = True
        report_skipped = True
        clean_model_instances = True

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


class ActivityEventResource(_LookupResource):
    """LMS events keyed by event id. An event already stored (or repeated in the file) is a
    replay and changes nothing; new events move their learner's ``last_active_at`` forward."""

    occurred_at = _timestamp_field("occurred_at")

    class Meta:
        model = ActivityEvent
        fields = ("external_id", "learner", "course", "kind", "occurred_at")
        export_order = fields
        import_id_fields = ("external_id",)
        instance_loader_class = ExternalIdLoader
        use_bulk = True
        batch_size = 1000
        skip_unchanged = True
        report_skipped = True
        clean_model_instances = True

    def filter_export(
        self, queryset: QuerySet[ActivityEvent], **kwargs: Any
    ) -> QuerySet[ActivityEvent]:
        return queryset.select_related("learner", "course")

    def before_import(self, dataset: Any, **kwargs: Any) -> None:
        super().before_import(dataset, **kwargs)
        self._new_events: list[ActivityEvent] = []
        # Stored before this import, or saved earlier in it: either way a replay.
        self._known_event_ids = existing_event_ids(_column_values(dataset, "external_id"))

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

    def import_instance(self, instance: ActivityEvent, row: dict[str, Any], **kwargs: Any) -> None:
        super().import_instance(instance, row, **kwargs)
        if instance.occurred_at and instance.occurred_at > self.now + MAX_CLOCK_SKEW:
            raise ValidationError({"occurred_at": "The time is in the future."})

    def before_save_instance(
        self, instance: ActivityEvent, row: dict[str, Any], **kwargs: Any
    ) -> None:
        self._known_event_ids.add(instance.external_id)
        self._new_events.append(instance)

    def after_import(self, dataset: Any, result: Any, **kwargs: Any) -> None:
        super().after_import(dataset, result, **kwargs)
        advance_last_active(latest=latest_by_learner(self._new_events))


RESOURCES: dict[str, type[BaseLearnerDataResource]] = {
    "learners": LearnerResource,
    "courses": CourseResource,
    "progress": CourseProgressResource,
    "activity": ActivityEventResource,
}
