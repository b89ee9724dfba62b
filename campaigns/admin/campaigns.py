"""Campaigns: the builder page with its steps and timeline; launch, pause, archive,
duplicate, and a new campaign from the blueprint."""

from __future__ import annotations

from collections.abc import Callable
from email.utils import parseaddr
from typing import Any

from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.widgets import AdminTextareaWidget
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.views.decorators.http import require_POST

from campaigns.admin.common import ADMIN_CSS, _problem_list, variables_panel
from campaigns.admin.feedback import AlertInline
from campaigns.building import blueprint, blueprint_steps, selectors, services
from campaigns.building.forms import (
    BlueprintForm,
    CampaignForm,
    StepForm,
)
from campaigns.models import Campaign, Segment, Step
from campaigns.reports import survey
from reengagement.url_fields import HTTPS_URLS


class StepInlineForm(StepForm):
    class Meta(StepForm.Meta):
        widgets = {"body": AdminTextareaWidget(attrs={"rows": 3, "cols": 36})}


class StepInline(admin.TabularInline):  # type: ignore[type-arg]
    formfield_overrides = HTTPS_URLS
    model = Step
    form = StepInlineForm
    extra = 0
    ordering = ["position"]
    show_change_link = True
    fields = [
        "position",
        "name",
        "delay_days",
        "delay_hours",
        "audience",
        "channel",
        "subject",
        "body",
        "cta_label",
        "cta_target",
    ]
    verbose_name = "step"
    verbose_name_plural = (
        "Steps (open a step to edit its manager copy, text message, A/B variants and preview)"
    )


STATUS_VERBS = {"launch": "launched", "pause": "paused", "archive": "archived"}
StatusService = Callable[..., Campaign]
STATUS_SERVICES: dict[str, StatusService] = {
    "launch": services.launch_campaign,
    "pause": services.pause_campaign,
    "archive": services.archive_campaign,
}


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    form = CampaignForm
    inlines = [StepInline, AlertInline]
    list_display = [
        "name",
        "segment",
        "status_label",
        "priority",
        "step_count",
        "launched_at",
        "results_link",
    ]
    list_filter = ["status", "segment"]
    list_select_related = ["segment"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    readonly_fields = ["status", "launched_at", "timeline", "survey_answers"]
    actions = ["launch_selected", "pause_selected", "archive_selected", "duplicate_selected"]
    change_form_template = "admin/campaigns/campaign/change_form.html"
    change_list_template = "admin/campaigns/campaign/change_list.html"
    fieldsets = [
        (None, {"fields": ["name", "slug", "segment", "description", ("status", "launched_at")]}),
        ("Timeline", {"fields": ["timeline"]}),
        (
            "Sender",
            {"fields": [("from_name", "from_email"), "reply_to", "postal_address"]},
        ),
        (
            "When mail goes out",
            {
                "fields": [
                    ("quiet_hours_start", "quiet_hours_end"),
                    "sending_weekdays",
                    "weekly_cap",
                    "priority",
                ]
            },
        ),
        (
            "Goal, control group and sunset",
            {
                "fields": [
                    "goal_window_days",
                    "goal_activity_kinds",
                    "survey_answer_counts",
                    "holdout_percent",
                    "sunset_after_days",
                ]
            },
        ),
        ("“Why did you stop?” answers", {"fields": ["survey_answers"]}),
        (
            "Welcome back",
            {
                "fields": [
                    "welcome_back_enabled",
                    "welcome_back_subject",
                    "welcome_back_body",
                    "welcome_back_incentive",
                ],
                "description": variables_panel(),
            },
        ),
        ("Link tracking", {"fields": [("utm_source", "utm_campaign")]}),
    ]

    class Media:
        css = ADMIN_CSS

    def get_queryset(self, request: HttpRequest) -> QuerySet[Campaign]:
        return super().get_queryset(request).annotate(step_total=Count("steps"))

    def has_launch_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("campaigns.launch_campaign")

    @admin.display(description="Status", ordering="status")
    def status_label(self, obj: Campaign) -> SafeString:
        return format_html(
            '<span class="campaign-status campaign-status-{}">{}</span>',
            obj.status,
            obj.get_status_display(),
        )

    @admin.display(description="Steps", ordering="step_total")
    def step_count(self, obj: Campaign) -> int:
        return getattr(obj, "step_total", 0)

    @admin.display(description="Results")
    def results_link(self, obj: Campaign) -> SafeString | str:
        if obj.status == Campaign.Status.DRAFT:
            return "–"
        url = reverse("admin:campaigns_campaignresult_results", args=[obj.pk])
        return format_html('<a href="{}" class="results-link">Results</a>', url)

    @admin.display(description="Drip")
    def timeline(self, obj: Campaign) -> SafeString | str:
        if obj.pk is None:
            return "Add steps below, or start from the blueprint on the campaign list."
        entries = selectors.campaign_timeline(obj)
        if not entries:
            return "No steps yet: add the first email below."
        rows = format_html_join(
            "",
            '<li><span class="timeline-when">{}</span> · {} · <strong>{}</strong>'
            '<div class="timeline-detail">Subject: {} · Button: {}{}{}</div></li>',
            (
                (
                    entry.when,
                    entry.audience.lower(),
                    entry.name or entry.subject,
                    entry.subject,
                    entry.cta_label,
                    f" · Incentive: {entry.incentive}" if entry.incentive else "",
                    f" · A/B: {entry.variants}" if entry.variants else "",
                )
                for entry in entries
            ),
        )
        last_day = max(entry.day for entry in entries)
        return format_html(
            '<ol class="campaign-timeline">{}<li class="timeline-end">'
            '<span class="timeline-when">Day {}</span> · learners who have not come back are '
            "sunset (no more re-engagement email); managers get a hand-off</li></ol>"
            '<p class="timeline-note">Counted as reactivated if they return within {} days of '
            "enrolling; {}% of the segment is held out as a control group.</p>",
            rows,
            last_day + obj.sunset_after_days,
            obj.goal_window_days,
            obj.holdout_percent,
        )

    # Actions on the list -----------------------------------------------------------------

    @admin.display(description="Answers")
    def survey_answers(self, obj: Campaign) -> SafeString | str:
        if obj.pk is None:
            return "—"
        counts = survey.answer_counts(campaign=obj)
        if not counts:
            return "No answers from this campaign's emails yet."
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
            ((c.label, c.code, c.count) for c in counts),
        )
        answers = (
            reverse("admin:campaigns_surveyresponse_changelist") + f"?campaign__id__exact={obj.pk}"
        )
        return format_html(
            '<table class="survey-answers"><thead><tr><th>Answer</th><th>Code</th><th>Answers'
            '</th></tr></thead><tbody>{}</tbody></table><p><a href="{}">Every answer, with '
            "comments, and the CSV/XLSX export</a></p>",
            rows,
            answers,
        )

    def _change_status_of(
        self, request: HttpRequest, queryset: QuerySet[Campaign], action: str
    ) -> None:
        """Run one status change on every selected campaign, or on none if any is refused."""
        now = timezone.now()
        service, verb = STATUS_SERVICES[action], STATUS_VERBS[action]
        refused: list[tuple[Campaign, list[str]]] = []
        with transaction.atomic():
            for campaign in queryset:
                try:
                    service(campaign=campaign, now=now)
                except ValidationError as exc:
                    refused.append((campaign, exc.messages))
            if refused:
                transaction.set_rollback(True)
        if not refused:
            count = queryset.count()
            self.message_user(
                request, f"{count} campaign{'' if count == 1 else 's'} {verb}.", messages.SUCCESS
            )
            return
        for campaign, problems in refused:
            self.message_user(
                request,
                _problem_list(f"“{campaign}” was not {verb}; nothing was changed:", problems),
                messages.ERROR,
            )

    @admin.action(description="Launch selected campaigns", permissions=["launch"])
    def launch_selected(self, request: HttpRequest, queryset: QuerySet[Campaign]) -> None:
        self._change_status_of(request, queryset, "launch")

    @admin.action(description="Pause selected campaigns", permissions=["launch"])
    def pause_selected(self, request: HttpRequest, queryset: QuerySet[Campaign]) -> None:
        self._change_status_of(request, queryset, "pause")

    @admin.action(description="Archive selected campaigns", permissions=["launch"])
    def archive_selected(self, request: HttpRequest, queryset: QuerySet[Campaign]) -> None:
        self._change_status_of(request, queryset, "archive")

    @admin.action(description="Duplicate selected campaigns (as drafts)", permissions=["add"])
    def duplicate_selected(self, request: HttpRequest, queryset: QuerySet[Campaign]) -> None:
        for campaign in queryset:
            copy = services.duplicate_campaign(campaign=campaign)
            self.message_user(request, f"Created “{copy}” as a draft.", messages.SUCCESS)

    # Views ----------------------------------------------------------------------------------

    def get_urls(self) -> list[URLPattern]:
        wrap = self.admin_site.admin_view
        return [
            path(
                "blueprint/",
                wrap(self.blueprint_view),
                name="campaigns_campaign_blueprint",
            ),
            path(
                "<path:object_id>/status/<str:action>/",
                wrap(require_POST(self.status_view)),
                name="campaigns_campaign_status",
            ),
            path(
                "<path:object_id>/duplicate/",
                wrap(require_POST(self.duplicate_view)),
                name="campaigns_campaign_duplicate",
            ),
            *super().get_urls(),
        ]

    def _change_url(self, campaign: Campaign) -> str:
        return reverse("admin:campaigns_campaign_change", args=[campaign.pk])

    def status_view(self, request: HttpRequest, object_id: str, action: str) -> HttpResponse:
        """Launch, pause or archive one campaign from its page."""
        if action not in STATUS_SERVICES:
            raise Http404
        if not self.has_launch_permission(request):
            raise PermissionDenied
        campaign = self.get_object(request, object_id)
        if campaign is None:
            raise Http404
        verb = STATUS_VERBS[action]
        try:
            STATUS_SERVICES[action](campaign=campaign, now=timezone.now())
        except ValidationError as exc:
            self.message_user(
                request,
                _problem_list(f"“{campaign}” was not {verb}; nothing was changed:", exc.messages),
                messages.ERROR,
            )
        else:
            self.message_user(request, f"“{campaign}” {verb}.", messages.SUCCESS)
        return HttpResponseRedirect(self._change_url(campaign))

    def duplicate_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        if not self.has_add_permission(request):
            raise PermissionDenied
        campaign = self.get_object(request, object_id)
        if campaign is None:
            raise Http404
        copy = services.duplicate_campaign(campaign=campaign)
        self.message_user(request, f"Created “{copy}” as a draft copy.", messages.SUCCESS)
        return HttpResponseRedirect(self._change_url(copy))

    def blueprint_view(self, request: HttpRequest) -> HttpResponse:
        """“New campaign from the blueprint”: pick a name, a segment and the timing."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        if request.method == "POST":
            form = BlueprintForm(request.POST)
            if form.is_valid():
                data = form.cleaned_data
                campaign = blueprint.create_blueprint_campaign(
                    name=data["name"],
                    segment=data["segment"],
                    compressed=data["compressed"],
                    now=timezone.now(),
                    from_name=data["from_name"],
                    from_email=data["from_email"],
                    postal_address=data["postal_address"],
                )
                self.message_user(
                    request,
                    f"Created “{campaign}” as a draft with six steps. Review the copy, preview "
                    "a step, then launch.",
                    messages.SUCCESS,
                )
                return HttpResponseRedirect(self._change_url(campaign))
        else:
            latest = Campaign.objects.exclude(postal_address="").order_by("-created_at").first()
            form = BlueprintForm(
                initial={
                    "segment": Segment.objects.order_by("name").first(),
                    "from_email": latest.from_email
                    if latest
                    else parseaddr(settings.DEFAULT_FROM_EMAIL)[1],
                    "postal_address": latest.postal_address if latest else "",
                }
            )
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "New campaign from the blueprint",
            "form": form,
            "steps": blueprint_steps.STEPS,
        }
        return TemplateResponse(request, "admin/campaigns/campaign/blueprint.html", context)

    def render_change_form(
        self,
        request: HttpRequest,
        context: dict[str, Any],
        add: bool = False,
        change: bool = False,
        form_url: str = "",
        obj: Campaign | None = None,
    ) -> HttpResponse:
        context["can_launch"] = self.has_launch_permission(request)
        context["can_duplicate"] = self.has_add_permission(request)
        context["can_view_results"] = request.user.has_perm("campaigns.view_results")
        return super().render_change_form(request, context, add, change, form_url, obj)

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        extra_context = {**(extra_context or {}), "can_add": self.has_add_permission(request)}
        return super().changelist_view(request, extra_context)
