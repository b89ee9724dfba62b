"""What every learner-data resource shares: tidy cells and headers, instances loaded up front by
LMS id, bulk writes, formula-safe exports and per-row checks."""

from __future__ import annotations

import copy
import datetime as dt
import math
from collections.abc import Callable, Mapping, Sequence
from decimal import InvalidOperation
from typing import Any, ClassVar

from django.core.exceptions import ValidationError
from django.utils import timezone
from import_export import fields, resources
from import_export.instance_loaders import BaseInstanceLoader

from learners.event_shape import MAX_CLOCK_SKEW
from learners.imports.columns import ColumnPlan, check_plan, plan_columns
from learners.imports.formats import ROW_PROBLEMS, SHEET_ROWS
from learners.imports.widgets import (
    ExternalIdWidget,
    TimestampWidget,
    cell_text,
    neutralize_formula,
    normalize_header,
    unstorable_character,
)
from learners.lookups import instances_by_external_id
from learners.models import Course, Learner


def column_values(dataset: Any, column: str) -> list[str]:
    if column not in (dataset.headers or []):
        return []
    values = (cell_text(value) for value in dataset[column])
    return [str(value) for value in values if value not in (None, "")]


class ExternalIdLoader(BaseInstanceLoader):
    """Loads every existing row the file names by ``external_id`` in a few queries.

    An instance is handed out once: a second row with the same LMS id gets a fresh instance
    (and the resource reports it as a duplicate) instead of silently overwriting the first
    row's changes on the shared object.
    """

    def __init__(self, resource: Any, dataset: Any = None) -> None:
        super().__init__(resource, dataset)
        self.instances = instances_by_external_id(
            resource.get_queryset(), column_values(dataset, "external_id")
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
    #: Without these a file cannot be matched to anything; every row would fail the same way.
    required_columns: ClassVar[tuple[str, ...]] = ()
    #: Our column → the headers LMS exports give it, in order of preference.
    column_aliases: ClassVar[dict[str, tuple[str, ...]]] = {}
    #: Columns read by the resource's own hooks rather than by a field.
    extra_columns: ClassVar[tuple[str, ...]] = ()

    class Meta:
        # Inherited by every resource's own Meta (import-export merges the options).
        use_bulk = True
        batch_size = 1000
        skip_unchanged = True
        report_skipped = True
        clean_model_instances = True

    def __init__(
        self,
        *,
        now: dt.datetime | None = None,
        on_row: Callable[[], object] | None = None,
        preview: bool = True,
        column_map: Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.column_map = dict(column_map or {})
        self.ignored_columns: list[str] = []
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
        self._row_problems: dict[int, list[str]] = {}
        self._sheet_rows: list[int] = []
        for field in self.fields.values():
            if isinstance(field.widget, TimestampWidget):
                field.widget.not_after = self.now + MAX_CLOCK_SKEW

    # -- import ---------------------------------------------------------------------------

    def get_import_fields(self) -> list[Any]:
        # Read-only columns are exported for information and ignored on import.
        return [field for field in super().get_import_fields() if not field.readonly]

    def known_columns(self) -> list[str]:
        """Every column this resource reads, in the order of its export."""
        return [field.column_name for field in self.get_import_fields()] + list(self.extra_columns)

    def plan(self, headers: Sequence[Any]) -> ColumnPlan:
        """How a file with ``headers`` maps onto this resource's columns."""
        return plan_columns(
            headers=[normalize_header(header) for header in headers],
            known=self.known_columns(),
            required=self.required_columns,
            aliases=self.column_aliases,
            column_map=self.column_map,
        )

    def check_columns(self, headers: Sequence[Any]) -> ColumnPlan:
        """The plan for ``headers``; :class:`UnreadableFile` when a required column is missing."""
        plan = self.plan(headers)
        check_plan(
            plan,
            headers=[str(header) for header in headers],
            known=self.known_columns(),
            required=self.required_columns,
            aliases=self.column_aliases,
        )
        return plan

    def before_import(self, dataset: Any, **kwargs: Any) -> None:
        plan = self.check_columns(dataset.headers)
        self.ignored_columns = plan.ignored
        dataset.headers = [plan.header_for(normalize_header(h)) for h in dataset.headers]
        self._row_problems = getattr(dataset, ROW_PROBLEMS, {})
        self._sheet_rows = getattr(dataset, SHEET_ROWS, [])

    def sheet_row(self, number: int) -> int:
        """The spreadsheet's number for the dataset's row ``number`` (the header is row 1)."""
        if 0 < number <= len(self._sheet_rows):
            return self._sheet_rows[number - 1]
        return number + 1

    def before_import_row(self, row: dict[str, Any], **kwargs: Any) -> None:
        problems = self._row_problems.get(kwargs.get("row_number") or 0)
        if problems:
            raise ValidationError(problems)
        errors: dict[str, str] = {}
        for key, value in row.items():
            if isinstance(value, str) and (character := unstorable_character(value)):
                errors[key] = f"The cell holds a control character ({character}); remove it."
            row[key] = cell_text(value)
        if errors:
            raise ValidationError(errors)

    def import_row(self, row: Any, instance_loader: Any, **kwargs: Any) -> Any:
        # Some hooks (skip_row) are not told the row number; the checks below need it.
        self.row_number = self.sheet_row(kwargs.get("row_number") or 0)
        row_result = super().import_row(row, instance_loader, **kwargs)
        if self.on_row is not None:
            self.on_row()
        return row_result

    def import_field(self, field: Any, instance: Any, row: Any, *args: Any, **kwargs: Any) -> None:
        try:
            super().import_field(field, instance, row, *args, **kwargs)
        except (ArithmeticError, InvalidOperation):
            # "inf" or "1e999" in a number column: a bad value of this row, not a crash.
            value = row.get(field.column_name)
            raise ValueError(f"{value!r} is not a number that can be stored.") from None
        stored = getattr(instance, field.attribute or "", None)
        if isinstance(stored, float) and not math.isfinite(stored):
            # float("nan") passes every range check and is stored as NULL or as NaN.
            raise ValueError(f"{row.get(field.column_name)!r} is not a number that can be stored.")

    def after_import(self, dataset: Any, result: Any, **kwargs: Any) -> None:
        # Row numbers as a spreadsheet shows them, so staff find the row they are told about.
        for invalid in result.invalid_rows:
            invalid.number = self.sheet_row(invalid.number)
        for error_row in result.error_rows:
            error_row.number = self.sheet_row(error_row.number)
            for error in error_row.errors:
                error.number = error_row.number
        result.ignored_columns = self.ignored_columns
        super().after_import(dataset, result, **kwargs)

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


class LookupResource(BaseLearnerDataResource):
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
        self.learners: dict[str, Any] = instances_by_external_id(
            Learner.objects.only("pk", "external_id"), column_values(dataset, "learner")
        )
        self.courses: dict[str, Any] = instances_by_external_id(
            Course.objects.only("pk", "external_id"), column_values(dataset, "course")
        )
        self.fields["learner"].widget.lookup = self.learners
        self.fields["course"].widget.lookup = self.courses
