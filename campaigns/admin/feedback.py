"""What came back: ESP events, suppressed addresses (lifted with a reason), deliverability
alerts, clicks, and each person's timeline ("why did she not get it?")."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString

from campaigns.admin.outbox import ReadOnlyAdmin
from campaigns.feedback import suppression, timeline
from campaigns.models import Click, DeliverabilityAlert, EspEvent, SuppressedAddress
from learners.models import Learner, Manager


@admin.register(EspEvent)
class EspEventAdmin(ReadOnlyAdmin):
    list_display = [
        "occurred_at",
        "esp",
        "event_type",
        "recipient",
        "classification",
        "status_code",
        "is_machine",
        "applied_at",
        "outcome",
    ]
    list_filter = ["esp", "event_type", "classification", "is_machine", "applied_at"]
    search_fields = ["recipient", "message_id", "key"]
    date_hierarchy = "occurred_at"
    readonly_fields = ["payload"]
    exclude = ["raw"]

    @admin.display(description="Payload as it came")
    def payload(self, obj: EspEvent) -> SafeString:
        return format_html("<pre>{}</pre>", json.dumps(obj.raw, indent=2, sort_keys=True))

    def get_urls(self) -> list[URLPattern]:
        wrap = self.admin_site.admin_view
        return [
            path(
                "timeline/learner/<int:pk>/",
                wrap(self.learner_timeline_view),
                name="campaigns_learner_timeline",
            ),
            path(
                "timeline/manager/<int:pk>/",
                wrap(self.manager_timeline_view),
                name="campaigns_manager_timeline",
            ),
            *super().get_urls(),
        ]

    def _timeline(
        self, request: HttpRequest, who: Learner | Manager, entries: list[timeline.Entry]
    ) -> HttpResponse:
        if not request.user.has_perm("campaigns.view_send"):
            raise PermissionDenied
        context = {
            **self.admin_site.each_context(request),
            "title": f"Timeline of {who}",
            "who": who,
            "entries": entries,
            "suppressions": SuppressedAddress.objects.filter(address=who.email),
        }
        return TemplateResponse(request, "admin/campaigns/timeline.html", context)

    def learner_timeline_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        learner = get_object_or_404(Learner, pk=pk)
        return self._timeline(request, learner, timeline.learner_timeline(learner=learner))

    def manager_timeline_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        manager = get_object_or_404(Manager, pk=pk)
        return self._timeline(request, manager, timeline.manager_timeline(manager=manager))


class LiftForm(forms.ModelForm):  # type: ignore[type-arg]
    lift_reason = forms.CharField(
        label="Lift the suppression because",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="The address may be mailed again. The reason is kept with this row.",
    )

    class Meta:
        model = SuppressedAddress
        fields = ["lift_reason"]


@admin.register(SuppressedAddress)
class SuppressedAddressAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Why an address is not mailed (event, code, time), and lifting it with a reason."""

    form = LiftForm
    list_display = [
        "address",
        "reason",
        "status_code",
        "suppressed_at",
        "stopped_manager_nudges",
        "lifted_at",
    ]
    list_filter = ["reason", ("lifted_at", admin.EmptyFieldListFilter)]
    search_fields = ["address"]
    list_select_related = ["lifted_by"]
    readonly_fields = [
        "address",
        "reason",
        "status_code",
        "detail",
        "suppressed_at",
        "event_link",
        "stopped_manager_nudges",
        "lifted_at",
        "lifted_by",
    ]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        if obj is not None and obj.lifted_at is not None:
            return [*self.readonly_fields, "lift_reason"]
        return list(self.readonly_fields)

    @admin.display(description="Event")
    def event_link(self, obj: SuppressedAddress) -> SafeString | str:
        if obj.event_id is None:
            return "—"
        url = reverse("admin:campaigns_espevent_change", args=[obj.event_id])
        return format_html('<a href="{}">{}</a>', url, obj.event)

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        reason = form.cleaned_data.get("lift_reason", "")
        if not reason.strip():
            return  # nothing asked
        try:
            suppression.lift_suppression(
                suppression=obj, reason=reason, user=request.user, now=timezone.now()
            )
        except ValidationError as exc:
            self.message_user(request, " ".join(exc.messages), messages.ERROR)
            return
        self.message_user(
            request, f"The address {obj.address} may be mailed again.", messages.SUCCESS
        )


@admin.register(DeliverabilityAlert)
class DeliverabilityAlertAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "campaign", "kind", "level", "message"]
    list_filter = ["kind", "level", "campaign"]
    list_select_related = ["campaign"]
    date_hierarchy = "created_at"


@admin.register(Click)
class ClickAdmin(ReadOnlyAdmin):
    list_display = ["at", "send", "method", "is_automated", "automated_reason", "user_agent"]
    list_filter = ["is_automated", "method"]
    date_hierarchy = "at"


class AlertInline(admin.TabularInline):  # type: ignore[type-arg]
    """A campaign's deliverability alerts, on its page: why it paused itself."""

    model = DeliverabilityAlert
    fields = ["created_at", "kind", "level", "message"]
    readonly_fields = ["created_at", "kind", "level", "message"]
    extra = 0
    max_num = 0
    can_delete = False
    ordering = ["-created_at"]
    verbose_name_plural = "Deliverability alerts (why the campaign paused itself)"

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
