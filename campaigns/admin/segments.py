"""Segments: rules, the count of learners who match now, and a sample."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import Count, QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from campaigns.admin.common import ADMIN_CSS
from campaigns.building import selectors
from campaigns.building.forms import (
    SegmentForm,
)
from campaigns.models import Segment


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
            "What they told us",
            {
                "fields": ["answered"],
                "description": "Answers to the “why did you stop?” survey (Campaigns › "
                "Survey reasons lists them), e.g. a follow-up for learners who had no time.",
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
