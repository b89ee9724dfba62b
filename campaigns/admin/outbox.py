"""What the system writes (enrollments, sends, survey answers): read-only lists."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from campaigns.delivery.record import mark_unconfirmed_sent, release_unconfirmed
from campaigns.models import Enrollment, PassLock, Send
from campaigns.models import SurveyResponse as SurveyResponseModel


class ReadOnlyAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Rows the system writes; staff read them, nobody edits them by hand."""

    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(SurveyResponseModel)
class SurveyResponseAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "learner", "reason", "campaign", "comment"]
    list_filter = ["reason", "campaign"]
    list_select_related = ["learner", "campaign"]
    search_fields = ["learner__email", "comment"]
    date_hierarchy = "created_at"


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
