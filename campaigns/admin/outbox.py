"""What the system writes (enrollments, sends, survey answers): read-only lists."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from campaigns.models import Enrollment, Send
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
    list_display = ["pk", "campaign", "step", "variant", "audience", "to_email", "status", "due_at"]
    list_filter = ["status", "kind", "audience", "campaign"]
    list_select_related = ["campaign", "step", "variant", "variant__step"]
    search_fields = ["to_email", "learner__email", "message_id"]
