"""Steps and their A/B variants: copy, manager copy, preview and test send."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from campaigns.admin.common import ADMIN_CSS, variables_panel
from campaigns.building import selectors, services
from campaigns.building.forms import (
    PreviewForm,
    StepForm,
    VariantForm,
)
from campaigns.content import emails, templating
from campaigns.models import Audience, Step, Variant
from learners.models import Learner
from reengagement.url_fields import HTTPS_URLS


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
    list_display = ["__str__", "campaign", "delay_days", "audience", "channel", "variant_count"]
    list_filter = ["campaign__status", "audience", "channel", "campaign"]
    list_select_related = ["campaign"]
    search_fields = ["name", "subject", "campaign__name"]
    autocomplete_fields = ["campaign"]
    change_form_template = "admin/campaigns/step/change_form.html"
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "campaign",
                    "position",
                    "name",
                    ("delay_days", "delay_hours"),
                    ("audience", "channel"),
                ]
            },
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
                "an email to the learner with the script, so acting takes seconds. On Slack "
                "or Teams the same copy goes as a message with the button.",
            },
        ),
        (
            "Text message (SMS steps)",
            {
                "fields": ["sms_body", "manager_sms_body"],
                "description": "Sent to learners (and managers) with a mobile number and SMS "
                "consent on file; the others get the email above. The link and “Reply STOP to "
                "opt out.” are added; in the manager's text the link opens the note to the "
                "learner.",
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
            try:
                rendered = emails.render_preview(
                    step=step,
                    variant=variant,
                    audience=audience,
                    learner=learner,
                    now=timezone.now(),
                )
            except templating.RenderError as exc:
                self.message_user(
                    request, f"This email cannot be rendered for {learner}: {exc}", messages.ERROR
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
