"""The weekly team digest: its one settings row, and what went out and what managers did."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse

from campaigns.admin.outbox import ReadOnlyAdmin
from campaigns.building.checks import channel_setup_problem
from campaigns.models import Channel, DigestCheckIn, DigestSettings, ManagerDigest


class DigestSettingsForm(forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = DigestSettings
        fields = ["enabled", "weekday", "hour", "channel", "pause_days", "from_name",
                  "postal_address"]  # fmt: skip

    def clean_channel(self) -> str:
        channel = str(self.cleaned_data["channel"])
        if problem := channel_setup_problem(channel):
            names: dict[str, str] = {
                Channel.SLACK: "Slack",
                Channel.TEAMS: "Microsoft Teams",
                Channel.SMS: "text message",
            }
            label = names.get(channel, channel)
            raise forms.ValidationError(f"Digests cannot go by {label}: {problem}.")
        return channel


@admin.register(DigestSettings)
class DigestSettingsAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """One row: the list opens it (with the defaults until staff first save it)."""

    form = DigestSettingsForm
    fields = ("enabled", "weekday", "hour", "channel", "pause_days", "from_name", "postal_address")

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        if DigestSettings.objects.filter(pk=1).exists():
            return HttpResponseRedirect(reverse("admin:campaigns_digestsettings_change", args=[1]))
        return HttpResponseRedirect(reverse("admin:campaigns_digestsettings_add"))

    def has_add_permission(self, request: HttpRequest) -> bool:
        return super().has_add_permission(request) and not DigestSettings.objects.exists()

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(
        self, request: HttpRequest, obj: DigestSettings, form: Any, change: bool
    ) -> None:
        obj.pk = 1
        super().save_model(request, obj, form, change)


@admin.register(ManagerDigest)
class ManagerDigestAdmin(ReadOnlyAdmin):
    list_display = ["pk", "manager", "week_of", "reports", "team_completion_rate", "channel",
                    "status", "skip_reason", "sent_at"]  # fmt: skip
    list_filter = ["status", "channel", "week_of"]
    list_select_related = ["manager"]
    search_fields = ["manager__email", "manager__name"]
    date_hierarchy = "due_at"


@admin.register(DigestCheckIn)
class DigestCheckInAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "learner", "digest", "paused_until"]
    list_select_related = ["learner", "digest__manager"]
    search_fields = ["learner__email", "digest__manager__email"]
    date_hierarchy = "created_at"
