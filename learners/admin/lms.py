"""LMS sources (xAPI, Caliper, Moodle events): their credentials, issued and revoked here, and
every statement they sent, applied or ignored with the reason."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.html import format_html

from learners.admin.data import plural
from learners.models import LmsSource, LmsStatement
from learners.standards.credentials import issue_credentials, revoke_credentials
from reengagement.url_fields import HTTPS_URLS

if TYPE_CHECKING:
    LmsSourceAdminBase = admin.ModelAdmin[LmsSource]
    LmsStatementAdminBase = admin.ModelAdmin[LmsStatement]
else:
    LmsSourceAdminBase = LmsStatementAdminBase = admin.ModelAdmin


@admin.register(LmsSource)
class LmsSourceAdmin(LmsSourceAdminBase):
    """Credentials are issued when a source is added; the secret is shown once."""

    list_display = ("name", "key", "caliper_sensor", "created_at", "revoked_at")
    readonly_fields = ("key", "endpoints", "created_at", "revoked_at")
    fields = ("name", "caliper_sensor", "key", "endpoints", "created_at", "revoked_at")
    search_fields = ("name", "key")
    actions = ["issue_new_secret", "revoke"]
    formfield_overrides = HTTPS_URLS

    @admin.display(description="where the LMS sends")
    def endpoints(self, source: LmsSource) -> str:
        if not source.key:
            return "Shown once the source is saved."
        base = settings.PUBLIC_BASE_URL
        return format_html(
            "xAPI (LRS endpoint): <code>{}/xapi/</code><br>"
            "Caliper (Canvas Live Events): <code>{}/lms/caliper/{}</code><br>"
            "Moodle events: <code>{}/lms/moodle/events</code>",
            base,
            base,
            source.key,
            base,
        )

    def save_model(self, request: HttpRequest, obj: LmsSource, form: Any, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        self._show_secret(request, obj, issue_credentials(source=obj))

    def _show_secret(self, request: HttpRequest, source: LmsSource, secret: str) -> None:
        self.message_user(
            request,
            format_html(
                "Credentials for {}: user name <code>{}</code>, password <code>{}</code>. "
                "Copy the password now: it is not stored and cannot be shown again.",
                source.name,
                source.key,
                secret,
            ),
            messages.WARNING,
        )

    @admin.action(description="Issue a new secret (the old one stops working)")
    def issue_new_secret(self, request: HttpRequest, queryset: QuerySet[LmsSource]) -> None:
        for source in queryset:
            self._show_secret(request, source, issue_credentials(source=source))

    @admin.action(description="Revoke credentials")
    def revoke(self, request: HttpRequest, queryset: QuerySet[LmsSource]) -> None:
        now = timezone.now()
        for source in queryset:
            revoke_credentials(source=source, now=now)
        self.message_user(request, f"Revoked {plural(queryset.count(), 'source')}.")


@admin.register(LmsStatement)
class LmsStatementAdmin(LmsStatementAdminBase):
    """Read only: what each LMS sent, and whether it moved a learner (and if not, why)."""

    list_display = (
        "statement_id",
        "standard",
        "source",
        "verb",
        "actor",
        "learner",
        "status",
        "reason",
        "occurred_at",
        "received_at",
    )
    list_filter = ("status", "standard", "source")
    list_select_related = ("source", "learner")
    search_fields = ("statement_id", "actor", "learner__external_id", "learner__email")
    date_hierarchy = "received_at"
    ordering = ("-received_at",)
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
