"""The campaign builder: segments, campaigns, steps and variants, previews, test sends, launch.

A thin UI: actions and views check permissions, call :mod:`campaigns.services`,
:mod:`campaigns.blueprint` or :mod:`campaigns.selectors`, and report what happened.
"""

from __future__ import annotations

from collections.abc import Callable
from email.utils import parseaddr
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.widgets import AdminTextareaWidget
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count, Field, QuerySet, URLField
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.views.decorators.http import require_POST

from learners.models import Learner

from . import blueprint, emails, selectors, services, templating
from .forms import (
    BlueprintForm,
    CampaignForm,
    PreviewForm,
    SegmentForm,
    StepForm,
    VariantForm,
)
from .models import Audience, Campaign, Enrollment, Incentive, Segment, Send, Step, Variant
from .models import SurveyResponse as SurveyResponseModel

# ModelAdmin and the inlines are generic only in django-stubs; subscripting them at runtime needs
# django_stubs_ext, a development tool, hence the type-arg ignores on the classes below.
ADMIN_CSS = {"all": ["css/admin-campaigns.css"]}
# A URL typed without a scheme is https (Django 6's default, chosen now).
HTTPS_URLS: dict[type[Field[Any, Any]], dict[str, Any]] = {URLField: {"assume_scheme": "https"}}


def variables_panel() -> SafeString:
    """The variables a template may use, shown next to every template editor."""
    items = format_html_join(
        "",
        "<li><code>{{{{ {} }}}}</code> {}</li>",
        templating.VARIABLES.items(),
    )
    return format_html(
        '<div class="template-variables"><p>Write <code>{{{{ first_name }}}}</code> to '
        "insert a value. Tags: <code>if</code>, <code>for</code>, <code>firstof</code>, "
        "<code>with</code>; filters such as <code>|default:'…'</code> and "
        "<code>|lower</code>. Anything else is refused when you save.</p>"
        '<ul class="template-variables-list">{}</ul></div>',
        items,
    )


def _problem_list(intro: str, problems: list[str]) -> SafeString:
    items = format_html_join("", "<li>{}</li>", ((p,) for p in problems))
    return format_html("{}<ul>{}</ul>", intro, items)


# --- Segments ---------------------------------------------------------------------------


@admin.register(Segment)
class SegmentAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    form = SegmentForm
    list_display = ["name", "rules", "campaign_count"]
    search_fields = ["name", "description"]
    readonly_fields = ["matching_now", "matching_sample"]
    fieldsets = [
        (None, {"fields": ["name", "description"]}),
        (
            "Inactivity",
            {
                "fields": [("min_inactive_days", "max_inactive_days")],
                "description": "Whole days since the learner's last activity in the LMS.",
            },
        ),
        (
            "Who",
            {
                "fields": [
                    "roles",
                    "teams",
                    "course_types",
                    ("min_completion_rate", "max_completion_rate"),
                    "has_manager",
                ]
            },
        ),
        (
            "Who matches now",
            {
                "fields": ["matching_now", "matching_sample"],
                "description": "Unsubscribed, suppressed and sunset learners never match.",
            },
        ),
    ]

    class Media:
        css = ADMIN_CSS

    def get_queryset(self, request: HttpRequest) -> QuerySet[Segment]:
        return super().get_queryset(request).annotate(campaign_total=Count("campaigns"))

    @admin.display(description="Rules")
    def rules(self, obj: Segment) -> str:
        return selectors.segment_rules(obj)

    @admin.display(description="Campaigns", ordering="campaign_total")
    def campaign_count(self, obj: Segment) -> int:
        return getattr(obj, "campaign_total", 0)

    @admin.display(description="Learners matching now")
    def matching_now(self, obj: Segment) -> str:
        if obj.pk is None:
            return "Save the segment to see who matches."
        count = selectors.segment_count(obj, now=timezone.now())
        return f"{count} learner{'' if count == 1 else 's'}"

    @admin.display(description="A sample")
    def matching_sample(self, obj: Segment) -> SafeString | str:
        if obj.pk is None:
            return "—"
        learners = selectors.segment_sample(obj, now=timezone.now())
        if not learners:
            return "Nobody matches these rules now."
        now = timezone.now()
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    learner.full_name or "—",
                    learner.email,
                    learner.role or "—",
                    learner.team or "—",
                    f"{(now - learner.last_active_at).days} days ago"
                    if learner.last_active_at
                    else "never",
                )
                for learner in learners
            ),
        )
        return format_html(
            '<table class="segment-sample"><thead><tr><th>Name</th><th>Email</th>'
            "<th>Role</th><th>Team</th><th>Last active</th></tr></thead><tbody>{}</tbody>"
            "</table>",
            rows,
        )


# --- Campaigns ----------------------------------------------------------------------------


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
        "subject",
        "body",
        "cta_label",
        "cta_target",
    ]
    verbose_name = "step"
    verbose_name_plural = "Steps (open a step to edit its manager copy, A/B variants and preview)"


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
    inlines = [StepInline]
    list_display = ["name", "segment", "status_label", "priority", "step_count", "launched_at"]
    list_filter = ["status", "segment"]
    list_select_related = ["segment"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    readonly_fields = ["status", "launched_at", "timeline"]
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
            {"fields": ["goal_window_days", "holdout_percent", "sunset_after_days"]},
        ),
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
            "steps": blueprint.STEPS,
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
        return super().render_change_form(request, context, add, change, form_url, obj)

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        extra_context = {**(extra_context or {}), "can_add": self.has_add_permission(request)}
        return super().changelist_view(request, extra_context)


# --- Steps and variants -------------------------------------------------------------------


class VariantInline(admin.StackedInline):  # type: ignore[type-arg]
    formfield_overrides = HTTPS_URLS
    model = Variant
    form = VariantForm
    extra = 0
    fields = [
        ("label", "weight"),
        "subject",
        "preheader",
        "body",
        ("cta_label", "cta_target", "cta_url"),
        ("delay_days", "delay_hours"),
    ]
    verbose_name_plural = (
        "A/B variants (a learner keeps one; empty fields use the step's copy; "
        "weights set each variant's share)"
    )


@admin.register(Step)
class StepAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    formfield_overrides = HTTPS_URLS
    form = StepForm
    inlines = [VariantInline]
    list_display = ["__str__", "campaign", "delay_days", "audience", "variant_count"]
    list_filter = ["campaign__status", "audience", "campaign"]
    list_select_related = ["campaign"]
    search_fields = ["name", "subject", "campaign__name"]
    autocomplete_fields = ["campaign"]
    change_form_template = "admin/campaigns/step/change_form.html"
    fieldsets = [
        (
            None,
            {"fields": ["campaign", "position", "name", ("delay_days", "delay_hours"), "audience"]},
        ),
        (
            "Email to the learner",
            {
                "fields": [
                    "subject",
                    "preheader",
                    "body",
                    ("cta_label", "cta_target"),
                    "cta_url",
                    "incentive",
                ],
                "description": variables_panel(),
            },
        ),
        (
            "Email to the manager",
            {
                "fields": ["manager_subject", "manager_body", "manager_script"],
                "description": "Sent when the audience includes the manager. The button opens "
                "an email to the learner with the script, so acting takes seconds.",
            },
        ),
    ]

    class Media:
        css = ADMIN_CSS

    def get_queryset(self, request: HttpRequest) -> QuerySet[Step]:
        return super().get_queryset(request).annotate(variant_total=Count("variants"))

    @admin.display(description="Variants", ordering="variant_total")
    def variant_count(self, obj: Step) -> int:
        return getattr(obj, "variant_total", 0)

    def can_send_test(self, request: HttpRequest, step: Step) -> bool:
        # Whoever writes the copy or approves it may mail themselves a copy; viewers may not.
        return self.has_change_permission(request, step) or request.user.has_perm(
            "campaigns.launch_campaign"
        )

    def get_urls(self) -> list[URLPattern]:
        wrap = self.admin_site.admin_view
        return [
            path(
                "<path:object_id>/preview/", wrap(self.preview_view), name="campaigns_step_preview"
            ),
            path(
                "<path:object_id>/send-test/",
                wrap(require_POST(self.send_test_view)),
                name="campaigns_step_send_test",
            ),
            *super().get_urls(),
        ]

    def _step_or_404(self, request: HttpRequest, object_id: str) -> Step:
        step = self.get_object(request, object_id)
        if step is None:
            raise Http404
        if not self.has_view_permission(request, step):
            raise PermissionDenied
        return step

    def _preview_choice(
        self, form: PreviewForm, step: Step
    ) -> tuple[Variant | None, str, Learner | None]:
        """The variant, audience and learner a (bound) preview form asks for."""
        variant: Variant | None = None
        audience: str = Audience.LEARNER
        learner: Learner | None = None
        lookup = ""
        if form.is_valid():
            variant = form.cleaned_data["variant"]
            audience = form.cleaned_data["audience"]
            lookup = form.cleaned_data["learner"]
        if lookup:
            learner = selectors.find_learner(lookup)
            if learner is None:
                form.add_error("learner", "No learner with that email, LMS id or number.")
        if learner is None:
            learner = selectors.random_preview_learner(step, now=timezone.now(), audience=audience)
        return variant, audience, learner

    def preview_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """The step as a learner (or their manager) would get it: subject, HTML and text."""
        step = self._step_or_404(request, object_id)
        form = PreviewForm(request.GET or None, step=step)
        variant, audience, learner = self._preview_choice(form, step)
        rendered = None
        if learner is not None:
            rendered = emails.render_preview(
                step=step, variant=variant, audience=audience, learner=learner, now=timezone.now()
            )
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "original": step,
            "title": f"Preview: {step}",
            "form": form,
            "learner": learner,
            "audience": audience,
            "variant": variant,
            "rendered": rendered,
            "no_manager": audience == Audience.MANAGER and learner and not learner.manager_id,
            "can_send_test": self.can_send_test(request, step),
            "query": urlencode(
                {
                    "variant": variant.pk if variant else "",
                    "audience": audience,
                    "learner": learner.pk if learner else "",
                }
            ),
        }
        return TemplateResponse(request, "admin/campaigns/step/preview.html", context)

    def send_test_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """“Send a test to me”: the previewed email, to the signed-in user's address."""
        step = self._step_or_404(request, object_id)
        if not self.can_send_test(request, step):
            raise PermissionDenied
        form = PreviewForm(request.POST, step=step)
        variant, audience, learner = self._preview_choice(form, step)
        back = reverse("admin:campaigns_step_preview", args=[step.pk])
        if learner is None:
            self.message_user(
                request, "There is no learner to render the test for.", messages.ERROR
            )
            return HttpResponseRedirect(back)
        to = getattr(request.user, "email", "")
        try:
            rendered = services.send_test_email(
                step=step,
                variant=variant,
                to=to,
                learner=learner,
                now=timezone.now(),
                audience=audience,
            )
        except ValidationError as exc:
            self.message_user(request, " ".join(exc.messages), messages.ERROR)
        else:
            self.message_user(
                request,
                f"Sent “{services.TEST_SUBJECT_PREFIX}{rendered.subject}” to {to}.",
                messages.SUCCESS,
            )
        query = urlencode(
            {"variant": variant.pk if variant else "", "audience": audience, "learner": learner.pk}
        )
        return HttpResponseRedirect(f"{back}?{query}")


@admin.register(Variant)
class VariantAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    formfield_overrides = HTTPS_URLS
    form = VariantForm
    list_display = ["__str__", "label", "weight", "subject"]
    list_filter = ["step__campaign"]
    list_select_related = ["step"]
    autocomplete_fields = ["step"]
    search_fields = ["label", "subject", "step__subject"]

    fieldsets = [
        (None, {"fields": ["step", ("label", "weight")]}),
        (
            "Overrides (empty fields use the step's)",
            {
                "fields": [
                    "subject",
                    "preheader",
                    "body",
                    ("cta_label", "cta_target", "cta_url"),
                    ("delay_days", "delay_hours"),
                ],
                "description": variables_panel(),
            },
        ),
    ]

    class Media:
        css = ADMIN_CSS


@admin.register(Incentive)
class IncentiveAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["title", "kind", "value", "expires_in_days"]
    list_filter = ["kind"]
    search_fields = ["title", "description", "value"]


# --- Results, read-only -------------------------------------------------------------------


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
