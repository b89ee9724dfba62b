"""Results: the programme overview, a campaign's results page with its charts, the exports,
and "Apply the winner". Guarded by ``campaigns.view_results``; read-only but for the winner,
which also needs the right to change variants."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from campaigns.admin.common import ADMIN_CSS
from campaigns.building.winners import apply_winner
from campaigns.models import Campaign, CampaignResult, Step, WinnerApplied
from campaigns.reports import charts, exports
from campaigns.reports.results import CampaignResults, campaign_results, programme_overview

VIEW_RESULTS = "campaigns.view_results"
CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def results_url(campaign: Campaign) -> str:
    return reverse("admin:campaigns_campaignresult_results", args=[campaign.pk])


@admin.register(CampaignResult)
class CampaignResultAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    class Media:
        css = {"all": [*ADMIN_CSS["all"], "css/admin-results.css"]}

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.has_perm(VIEW_RESULTS)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(VIEW_RESULTS)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def can_apply_winner(self, request: HttpRequest) -> bool:
        return request.user.has_perm(VIEW_RESULTS) and request.user.has_perm(
            "campaigns.change_variant"
        )

    def get_urls(self) -> list[URLPattern]:
        wrap = self.admin_site.admin_view
        return [
            path("", wrap(self.overview_view), name="campaigns_campaignresult_changelist"),
            path(
                "<int:campaign_id>/",
                wrap(self.results_view),
                name="campaigns_campaignresult_results",
            ),
            path(
                "<int:campaign_id>/export/<str:table>.csv",
                wrap(self.csv_view),
                name="campaigns_campaignresult_csv",
            ),
            path(
                "<int:campaign_id>/export.xlsx",
                wrap(self.xlsx_view),
                name="campaigns_campaignresult_xlsx",
            ),
            path(
                "<int:campaign_id>/apply-winner/<int:step_id>/",
                wrap(require_POST(self.apply_winner_view)),
                name="campaigns_campaignresult_apply_winner",
            ),
            path(
                "<path:object_id>/change/",
                wrap(self.change_redirect),
                name="campaigns_campaignresult_change",
            ),
        ]

    def _results(self, request: HttpRequest, campaign_id: int) -> CampaignResults:
        if not self.has_view_permission(request):
            raise PermissionDenied
        campaign = get_object_or_404(Campaign, pk=campaign_id)
        return campaign_results(campaign=campaign, now=timezone.now())

    def _context(self, request: HttpRequest, **extra: Any) -> dict[str, Any]:
        return {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "media": self.media,
            **extra,
        }

    def change_redirect(self, request: HttpRequest, object_id: str) -> HttpResponse:
        if not object_id.isdigit():
            raise Http404
        return HttpResponseRedirect(
            reverse("admin:campaigns_campaignresult_results", args=[int(object_id)])
        )

    def overview_view(self, request: HttpRequest) -> HttpResponse:
        """Every campaign that has run: enrolled, lift, status."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        lines = programme_overview(now=timezone.now())
        context = self._context(
            request,
            title="Results across campaigns",
            lines=[(line, results_url(line.campaign)) for line in lines],
        )
        return TemplateResponse(request, "admin/campaigns/campaignresult/overview.html", context)

    def results_view(self, request: HttpRequest, campaign_id: int) -> HttpResponse:
        results = self._results(request, campaign_id)
        campaign = results.campaign
        steps = [(step, charts.ab_chart(step)) for step in results.steps if len(step.variants) > 1]
        context = self._context(
            request,
            title=f"Results: {campaign.name}",
            campaign=campaign,
            results=results,
            data=exports.as_dict(results),
            lift_chart=charts.lift_chart(results.reactivation),
            daily_chart=charts.daily_chart(results.daily),
            ab_steps=steps,
            funnel_rows=[
                *results.campaign_rows,
                *results.step_rows,
                *results.variant_rows,
            ],
            can_apply=self.can_apply_winner(request),
            audit=WinnerApplied.objects.filter(step__campaign=campaign).select_related(
                "step", "variant", "applied_by"
            ),
            tables=exports.TABLES,
            campaign_url=reverse("admin:campaigns_campaign_change", args=[campaign.pk]),
        )
        return TemplateResponse(request, "admin/campaigns/campaignresult/results.html", context)

    def _download(self, content: bytes, campaign: Campaign, name: str, kind: str) -> HttpResponse:
        response = HttpResponse(content, content_type=CONTENT_TYPES[kind])
        stamp = timezone.now().strftime("%Y%m%d")
        response["Content-Disposition"] = (
            f'attachment; filename="{campaign.slug}-{name}-{stamp}.{kind}"'
        )
        return response

    def csv_view(self, request: HttpRequest, campaign_id: int, table: str) -> HttpResponse:
        if table not in exports.TABLES:
            raise Http404
        results = self._results(request, campaign_id)
        return self._download(exports.csv_bytes(results, table), results.campaign, table, "csv")

    def xlsx_view(self, request: HttpRequest, campaign_id: int) -> HttpResponse:
        results = self._results(request, campaign_id)
        return self._download(exports.xlsx_bytes(results), results.campaign, "results", "xlsx")

    def apply_winner_view(
        self, request: HttpRequest, campaign_id: int, step_id: int
    ) -> HttpResponse:
        """Apply the step's winner as the figures show it now: refused when there is none, or
        when it is not the variant the person saw (the data moved on)."""
        if not self.can_apply_winner(request):
            raise PermissionDenied
        results = self._results(request, campaign_id)
        step = get_object_or_404(Step, pk=step_id, campaign=results.campaign)
        step_ab = next((s for s in results.steps if s.step_id == step.pk), None)
        shown = request.POST.get("variant", "")
        if step_ab is None or step_ab.winner is None or str(step_ab.winner.variant_id) != shown:
            self.message_user(
                request,
                f"No winner to apply for “{step}”: the figures no longer name that variant.",
                messages.ERROR,
            )
            return HttpResponseRedirect(results_url(results.campaign))
        variant = step.variants.get(pk=step_ab.winner.variant_id)
        figures = exports.step_dict(step_ab, provisional=results.windows_open)
        try:
            apply_winner(variant=variant, figures=figures, user=request.user, now=timezone.now())  # type: ignore[arg-type]
        except ValidationError as exc:
            self.message_user(request, " ".join(exc.messages), messages.ERROR)
        else:
            self.message_user(
                request,
                f"Variant {variant.label} of “{step}” now goes to every learner not yet sent.",
                messages.SUCCESS,
            )
        return HttpResponseRedirect(results_url(results.campaign))
