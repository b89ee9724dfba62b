"""What the system writes (enrollments, sends, survey answers): read-only lists."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import Count, OuterRef, QuerySet, Subquery
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from campaigns.delivery.record import mark_unconfirmed_sent, release_unconfirmed
from campaigns.models import Enrollment, PassLock, Send, SurveyReason
from campaigns.models import SurveyResponse as SurveyResponseModel
from campaigns.reports import survey


class ReadOnlyAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Rows the system writes; staff read them, nobody edits them by hand."""

    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ReasonFilter(admin.SimpleListFilter):
    title = "answer"
    parameter_name = "reason"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return list(SurveyReason.objects.values_list("code", "label"))

    def queryset(
        self, request: HttpRequest, queryset: QuerySet[SurveyResponseModel]
    ) -> QuerySet[SurveyResponseModel]:
        return queryset.filter(reason=self.value()) if self.value() else queryset


@admin.register(SurveyResponseModel)
class SurveyResponseAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "learner", "answer", "campaign", "comment"]
    list_filter = [ReasonFilter, "campaign"]
    list_select_related = ["learner", "campaign"]
    search_fields = ["learner__email", "comment"]
    date_hierarchy = "created_at"
    actions = ["export_csv", "export_xlsx"]

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        self._labels = dict(SurveyReason.objects.values_list("code", "label"))
        return super().changelist_view(request, extra_context)

    @admin.display(description="answer", ordering="reason")
    def answer(self, obj: SurveyResponseModel) -> str:
        return getattr(self, "_labels", {}).get(obj.reason, obj.reason)

    @admin.action(description="Export the selected answers as CSV", permissions=["view"])
    def export_csv(
        self, request: HttpRequest, queryset: QuerySet[SurveyResponseModel]
    ) -> HttpResponse:
        return _download(survey.csv_bytes(queryset), "text/csv", "csv")

    @admin.action(description="Export the selected answers as XLSX", permissions=["view"])
    def export_xlsx(
        self, request: HttpRequest, queryset: QuerySet[SurveyResponseModel]
    ) -> HttpResponse:
        xlsx = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        return _download(survey.xlsx_bytes(queryset), xlsx, "xlsx")


def _download(body: bytes, content_type: str, extension: str) -> HttpResponse:
    response = HttpResponse(body, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="survey-answers.{extension}"'
    return response


@admin.register(SurveyReason)
class SurveyReasonAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """The answers the survey offers; an answer once given keeps its code, so a reason is
    withdrawn (not offered) rather than deleted."""

    list_display = ["label", "code", "position", "is_active", "answer_count"]
    list_editable = ["position", "is_active"]
    search_fields = ["label", "code"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[SurveyReason]:
        answers = SurveyResponseModel.objects.filter(reason=OuterRef("code")).order_by()
        counted = answers.values("reason").annotate(n=Count("pk")).values("n")[:1]
        return super().get_queryset(request).annotate(answers=Subquery(counted))

    @admin.display(description="answers", ordering="answers")
    def answer_count(self, obj: SurveyReason) -> int:
        return int(getattr(obj, "answers", 0) or 0)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        # Answers and segments name it by its code: fixed once the reason exists.
        return ["code"] if obj is not None else []

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Enrollment)
class EnrollmentAdmin(ReadOnlyAdmin):
    list_display = [
        "learner",
        "campaign",
        "status",
        "is_holdout",
        "enrolled_at",
        "next_step",
        "next_due_at",
    ]
    list_filter = ["status", "is_holdout", "campaign"]
    list_select_related = ["learner", "campaign"]
    search_fields = ["learner__email", "learner__external_id"]


@admin.register(Send)
class SendAdmin(ReadOnlyAdmin):
    list_display = [
        "pk",
        "campaign",
        "step",
        "variant",
        "audience",
        "channel",
        "to_email",
        "to_address",
        "status",
        "due_at",
    ]
    list_filter = ["status", "kind", "audience", "channel", "campaign"]
    list_select_related = ["campaign", "step", "variant", "variant__step"]
    search_fields = ["to_email", "to_address", "learner__email", "message_id", "esp_message_id"]
    actions = ["mark_sent", "release_for_resend"]

    def has_resolve_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("campaigns.launch_campaign")

    @admin.action(
        description="Unconfirmed: the ESP has them (looked up by Message-ID) — mark sent",
        permissions=["resolve"],
    )
    def mark_sent(self, request: HttpRequest, queryset: QuerySet[Send]) -> None:
        ids = list(queryset.values_list("pk", flat=True))
        count = mark_unconfirmed_sent(send_ids=ids, now=timezone.now())
        self._report(request, count, len(ids), "marked sent")

    @admin.action(
        description="Unconfirmed: the ESP never received them — release for resend",
        permissions=["resolve"],
    )
    def release_for_resend(self, request: HttpRequest, queryset: QuerySet[Send]) -> None:
        ids = list(queryset.values_list("pk", flat=True))
        count = release_unconfirmed(send_ids=ids, now=timezone.now())
        self._report(request, count, len(ids), "released for resend")

    def _report(self, request: HttpRequest, count: int, selected: int, done: str) -> None:
        self.message_user(request, f"{count} unconfirmed send(s) {done}.")
        if count < selected:
            self.message_user(
                request,
                f"{selected - count} selected send(s) were not unconfirmed and were left alone.",
                messages.WARNING,
            )


@admin.register(PassLock)
class PassLockAdmin(ReadOnlyAdmin):
    """The last evaluation pass: the moment it ran for, when it really ran and how long it took.

    A wall-clock start long ago, or a duration near the pass interval, is a pass that is stuck
    or too slow; errors name the campaigns whose part of it was rolled back.
    """

    list_display = [
        "name",
        "last_started_at",
        "wall_started_at",
        "wall_finished_at",
        "duration",
        "last_errors",
    ]
    readonly_fields = [
        "name",
        "last_started_at",
        "wall_started_at",
        "wall_finished_at",
        "duration",
        "last_errors",
    ]

    @admin.display(description="duration")
    def duration(self, lock: PassLock) -> str:
        if lock.last_duration_ms is None:
            return "—"
        return f"{lock.last_duration_ms / 1000:.2f} s"

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.is_staff
