"""Awards given, the discount code pool (imported by staff), and the pushes to the LMS."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from import_export.admin import ExportMixin, ImportExportModelAdmin

from campaigns.admin.outbox import ReadOnlyAdmin
from campaigns.building.codes import AwardResource, DiscountCodeResource
from campaigns.models import Award, AwardPush, DiscountCode


@admin.register(Award)
class AwardAdmin(ExportMixin, ReadOnlyAdmin):
    resource_classes = [AwardResource]
    list_display = ["awarded_at", "learner", "title", "kind", "code", "expires_at", "push_status"]
    list_filter = ["kind", "incentive"]
    list_select_related = ["learner", "push"]
    search_fields = ["learner__external_id", "learner__email", "code"]
    date_hierarchy = "awarded_at"

    @admin.display(description="LMS")
    def push_status(self, award: Award) -> str:
        push = getattr(award, "push", None)
        return push.get_status_display() if push is not None else "not pushed"

    def get_export_queryset(self, request: HttpRequest) -> QuerySet[Award]:
        return (
            super()
            .get_export_queryset(request)
            .select_related("learner", "enrollment__campaign", "push")
        )


@admin.register(DiscountCode)
class DiscountCodeAdmin(ImportExportModelAdmin):
    resource_classes = [DiscountCodeResource]
    list_display = ["code", "incentive", "imported_at", "award"]
    list_filter = ["incentive", ("award", admin.EmptyFieldListFilter)]
    list_select_related = ["incentive", "award"]
    search_fields = ["code"]
    raw_id_fields = ["award"]
    readonly_fields = ["award", "imported_at"]

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # A code already given belongs to that award.
        return super().has_change_permission(request, obj) and not (obj and obj.award_id)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_delete_permission(request, obj) and not (obj and obj.award_id)


@admin.register(AwardPush)
class AwardPushAdmin(ReadOnlyAdmin):
    list_display = [
        "award",
        "status",
        "attempts",
        "next_attempt_at",
        "pushed_at",
        "response_status",
        "last_error",
    ]
    list_filter = ["status"]
    list_select_related = ["award"]
