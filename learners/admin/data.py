"""Admin for learners and their data: browse, import and export (CSV, XLSX).

Imports go through django-import-export's dry-run preview. Unlike its default, a file with some
bad rows can still be confirmed: the preview lists the bad rows with their errors and says how
many good rows will be imported.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django import forms
from django.contrib import admin, messages
from django.db.models import Count, QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone
from import_export.admin import ImportExportModelAdmin
from import_export.results import Result

from learners import phones
from learners.erasure import suppress_erased
from learners.imports.activity import ActivityEventResource
from learners.imports.courses import CourseResource
from learners.imports.files import summarize
from learners.imports.formats import CSV, XLSX, UnreadableFile
from learners.imports.forms import ColumnMappingForm, MappedConfirmImportForm, MappedImportForm
from learners.imports.learners import LearnerResource
from learners.imports.progress import CourseProgressResource
from learners.models import (
    ActivityEvent,
    ColumnMapping,
    Course,
    CourseProgress,
    Learner,
    Manager,
    TeamChannel,
)
from learners.signals import activity_rewritten
from reengagement.url_fields import HTTPS_URLS

if TYPE_CHECKING:
    ManagerAdminBase = admin.ModelAdmin[Manager]
    ColumnMappingAdminBase = admin.ModelAdmin[ColumnMapping]
    TeamChannelAdminBase = admin.ModelAdmin[TeamChannel]
    LearnerFormBase = forms.ModelForm[Learner]
else:
    # ModelAdmin and ModelForm are generic only in the type stubs.
    ManagerAdminBase = ColumnMappingAdminBase = TeamChannelAdminBase = admin.ModelAdmin
    LearnerFormBase = forms.ModelForm


class LearnerForm(LearnerFormBase):
    """Staff type a number as people write it; it is stored in E.164."""

    class Meta:
        model = Learner
        fields = "__all__"

    def clean_phone(self) -> str:
        value = str(self.cleaned_data.get("phone") or "")
        if not value:
            return ""
        try:
            return phones.to_e164(value)
        except phones.BadPhoneNumber as exc:
            raise forms.ValidationError(str(exc)) from None


# Listing every bad row's number in a message is useful up to a point; the preview has them all.
MAX_ROWS_IN_MESSAGE = 20


def _row_numbers(numbers: list[int]) -> str:
    shown = ", ".join(str(number) for number in numbers[:MAX_ROWS_IN_MESSAGE])
    more = len(numbers) - MAX_ROWS_IN_MESSAGE
    return f"{shown} and {more} more" if more > 0 else shown


def plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


class LearnerDataAdmin(ImportExportModelAdmin):
    """Import and export in CSV and XLSX, good rows imported even when some are bad."""

    formats = [CSV, XLSX]
    import_template_name = "admin/learners/import.html"
    import_form_class = MappedImportForm
    confirm_form_class = MappedConfirmImportForm
    #: Which saved column mappings apply to this admin's imports.
    mapping_kind = ""

    def get_import_form_kwargs(self, request: HttpRequest) -> dict[str, Any]:
        return {**super().get_import_form_kwargs(request), "kind": self.mapping_kind}

    def get_confirm_form_initial(self, request: HttpRequest, import_form: Any) -> dict[str, Any]:
        initial = super().get_confirm_form_initial(request, import_form)
        if import_form is not None and import_form.cleaned_data.get("source"):
            initial["source"] = import_form.cleaned_data["source"].pk
        return dict(initial)

    def get_import_resource_kwargs(self, request: HttpRequest, **kwargs: Any) -> dict[str, Any]:
        resource_kwargs = dict(super().get_import_resource_kwargs(request, **kwargs))
        form = kwargs.get("form")
        source = form.cleaned_data.get("source") if form is not None else None
        if source is not None:
            resource_kwargs["column_map"] = source.columns
        return resource_kwargs

    def import_action(self, request: HttpRequest, **kwargs: Any) -> HttpResponse:
        response = super().import_action(request, **kwargs)
        context = getattr(response, "context_data", None)
        result = context.get("result") if context else None
        if not isinstance(response, TemplateResponse) or context is None or result is None:
            return response
        summary = summarize(kind="rows", result=result, dry_run=True)
        if result.has_errors():
            context["import_file_errors"] = summary.file_errors
            return response
        good = summary.created + summary.updated + summary.unchanged
        text = (
            f"{plural(good, 'row')} will be imported: {summary.created} new, "
            f"{summary.updated} updated, {summary.unchanged} unchanged."
        )
        if summary.errors:
            numbers = sorted({error.row for error in summary.errors})
            text += (
                f" {plural(len(numbers), 'row')} with errors will be left out "
                f"(row {_row_numbers(numbers)}; rows are numbered as in a spreadsheet, "
                "the header is row 1)."
            )
            # import-export withholds the confirm form when any row is invalid.
            if "confirm_form" not in context and good:
                context["confirm_form"] = self.create_confirm_form(
                    request, import_form=context["form"]
                )
        if summary.ignored_columns:
            text += f" Columns not used: {', '.join(summary.ignored_columns)}."
        context["import_summary"] = text
        return response

    def add_data_read_fail_error_to_form(self, form: Any, e: Exception) -> None:
        # import-export names the exception's class here; staff get what to do instead.
        if isinstance(e, UnreadableFile):
            message = str(e)
        elif isinstance(e, UnicodeDecodeError):
            message = "The file is not UTF-8 text; save the CSV as UTF-8."
        else:
            message = "The file could not be read; check that its format is the one chosen."
        form.add_error("import_file", message)

    def add_success_message(self, result: Result, request: HttpRequest) -> None:
        summary = summarize(kind="rows", result=result, dry_run=False)
        if summary.file_errors:
            messages.error(request, "Nothing was imported: " + "; ".join(summary.file_errors))
            return
        text = (
            f"Import finished: {summary.created} new, {summary.updated} updated, "
            f"{summary.unchanged} unchanged {self.model._meta.verbose_name_plural}."
        )
        if summary.errors:
            numbers = sorted({error.row for error in summary.errors})
            text += (
                f" {plural(len(numbers), 'row')} with errors not imported: "
                f"row {_row_numbers(numbers)}."
            )
            messages.warning(request, text)
        else:
            messages.success(request, text)


class ContactabilityFilter(admin.SimpleListFilter):
    title = "contactability"
    parameter_name = "contact"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [
            ("contactable", "Contactable"),
            ("unsubscribed", "Unsubscribed"),
            ("suppressed", "Suppressed (bounce or complaint)"),
            ("sunset", "Sunset"),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        if value == "contactable":
            return queryset.filter(
                unsubscribed_at__isnull=True, suppressed_at__isnull=True, sunset_at__isnull=True
            )
        if value in {"unsubscribed", "suppressed", "sunset"}:
            return queryset.filter(**{f"{value}_at__isnull": False})
        return queryset


@admin.register(Learner)
class LearnerAdmin(LearnerDataAdmin):
    form = LearnerForm
    resource_classes = [LearnerResource]
    mapping_kind = "learners"
    list_display = (
        "external_id",
        "email",
        "full_name",
        "role",
        "team",
        "manager",
        "last_active_at",
        "completion_rate",
        "contactability",
    )
    list_filter = (ContactabilityFilter, "role", "team", "time_zone")
    list_select_related = ("manager",)
    search_fields = ("external_id", "email", "first_name", "last_name")
    raw_id_fields = ("manager",)
    date_hierarchy = "last_active_at"
    # Contactability is changed only by the learner (unsubscribe), the ESP (bounce, complaint)
    # and the engine (sunset); staff see it but cannot re-subscribe anyone by editing a form.
    readonly_fields = (
        "contactability",
        "unsubscribed_at",
        "suppressed_at",
        "suppression_reason",
        "sunset_at",
        "sms_opted_out_at",
        "reminders_paused_until",
        "weekly_cap",
        "erased_at",
        "completion_rate",
        "created_at",
        "updated_at",
    )
    fieldsets = (
        (None, {"fields": ("external_id", "email", "first_name", "last_name")}),
        ("Organisation", {"fields": ("role", "team", "manager", "time_zone", "locale")}),
        ("Activity", {"fields": ("last_active_at", "completion_rate")}),
        (
            "Contactability",
            {
                "fields": (
                    "contactability",
                    "unsubscribed_at",
                    "suppressed_at",
                    "suppression_reason",
                    "sunset_at",
                    "erased_at",
                )
            },
        ),
        (
            "Text messages",
            {
                "fields": ("phone", "sms_consent_at", "sms_opted_out_at"),
                "description": "SMS steps reach learners with a mobile number and consent on "
                "file who have not replied STOP; the others get the email.",
            },
        ),
        ("Record", {"fields": ("created_at", "updated_at")}),
    )

    @admin.display(description="name", ordering="last_name")
    def full_name(self, learner: Learner) -> str:
        return learner.full_name

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # An erased row stays as it is: typing an address back in would undo the erasure.
        return super().has_change_permission(request, obj) and not (obj and obj.erased_at)

    def save_model(self, request: HttpRequest, obj: Learner, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        # An erased address typed in by hand is suppressed like one that came in a file.
        suppress_erased(emails=[obj.email], now=timezone.now())

    @admin.display(description="contactability")
    def contactability(self, learner: Learner) -> str:
        if learner.erased_at:
            return "Erased"
        if learner.suppressed_at:
            reason = learner.get_suppression_reason_display() or "suppressed"
            return f"Suppressed ({reason.lower()})"
        if learner.unsubscribed_at:
            return "Unsubscribed"
        if learner.sunset_at:
            return "Sunset"
        return "Contactable"


@admin.register(Manager)
class ManagerAdmin(ManagerAdminBase):
    list_display = (
        "email",
        "name",
        "learner",
        "report_count",
        "time_zone",
        "nudges_opted_out_at",
        "digests_opted_out_at",
    )
    list_select_related = ("learner",)
    search_fields = ("email", "name")
    raw_id_fields = ("learner",)
    # The manager's own choices (preferences page, one-click opt-outs); contactability writes them.
    readonly_fields = (
        "messages_paused_until",
        "digests_opted_out_at",
        "sms_opted_out_at",
        "created_at",
    )
    list_filter = (
        ("nudges_opted_out_at", admin.EmptyFieldListFilter),
        ("digests_opted_out_at", admin.EmptyFieldListFilter),
        ("slack_not_found_at", admin.EmptyFieldListFilter),
        "time_zone",
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[Manager]:
        return super().get_queryset(request).annotate(report_total=Count("reports"))

    @admin.display(description="reports", ordering="report_total")
    def report_count(self, manager: Manager) -> int:
        return int(getattr(manager, "report_total", 0))


@admin.register(TeamChannel)
class TeamChannelAdmin(TeamChannelAdminBase):
    """Where each team's nudges are posted in Microsoft Teams (Teams steps)."""

    formfield_overrides = HTTPS_URLS
    list_display = ("team", "webhook_url", "updated_at")
    search_fields = ("team",)


@admin.register(Course)
class CourseAdmin(LearnerDataAdmin):
    resource_classes = [CourseResource]
    mapping_kind = "courses"
    list_display = ("title", "external_id", "course_type", "url")
    list_filter = ("course_type",)
    search_fields = ("title", "external_id")


@admin.register(CourseProgress)
class CourseProgressAdmin(LearnerDataAdmin):
    resource_classes = [CourseProgressResource]
    mapping_kind = "progress"
    list_display = (
        "learner",
        "course",
        "percent_complete",
        "last_module",
        "next_module",
        "minutes_remaining",
        "updated_at",
    )
    list_filter = ("course__course_type", "course")
    list_select_related = ("learner", "course")
    search_fields = ("learner__external_id", "learner__email", "course__title")
    raw_id_fields = ("learner", "course")


@admin.register(ActivityEvent)
class ActivityEventAdmin(LearnerDataAdmin):
    resource_classes = [ActivityEventResource]
    mapping_kind = "activity"
    list_display = ("external_id", "learner", "course", "kind", "occurred_at", "received_at")
    list_filter = ("kind",)
    list_select_related = ("learner", "course")
    search_fields = ("external_id", "learner__external_id", "learner__email")
    raw_id_fields = ("learner", "course")
    readonly_fields = ("received_at",)

    # An event corrected or removed here changes what came of its learner's enrollments.
    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        # The learner it was of, too, if the change moved it to another.
        before = ActivityEvent.objects.filter(pk=obj.pk).values_list("learner_id", flat=True)
        earlier = list(before) if change else []
        super().save_model(request, obj, form, change)
        if change:
            _rewritten([*earlier, obj.learner_id])

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        super().delete_model(request, obj)
        _rewritten([obj.learner_id])

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[ActivityEvent]) -> None:
        learner_ids = list(queryset.values_list("learner_id", flat=True).distinct())
        super().delete_queryset(request, queryset)
        _rewritten(learner_ids)


def _rewritten(learner_ids: list[int]) -> None:
    activity_rewritten.send(sender=ActivityEvent, learner_ids=sorted(set(learner_ids)))


@admin.register(ColumnMapping)
class ColumnMappingAdmin(ColumnMappingAdminBase):
    """Column names of one source, saved once and chosen on each import of its files."""

    form = ColumnMappingForm
    list_display = ("source", "kind", "column_count", "updated_at")
    list_filter = ("kind",)
    search_fields = ("source",)

    @admin.display(description="columns mapped")
    def column_count(self, mapping: ColumnMapping) -> int:
        return len(mapping.columns)
