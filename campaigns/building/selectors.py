"""Reads for the campaign builder: who a segment matches, a learner to preview, the timeline."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

from django.db.models import Q

from campaigns.engine.segments import contactable_learners, segment_learners
from campaigns.models import Audience, Campaign, Segment, Step
from learners.models import Learner

SAMPLE_SIZE = 20


def segment_count(segment: Segment, *, now: dt.datetime) -> int:
    """How many learners match ``segment`` at ``now``: one COUNT query."""
    return segment_learners(segment, now=now).count()


def segment_sample(
    segment: Segment, *, now: dt.datetime, limit: int = SAMPLE_SIZE
) -> list[Learner]:
    """A few matching learners to show staff what the rules pick: the longest-inactive first,
    since those are the ones the rules are most likely to get wrong."""
    return list(
        segment_learners(segment, now=now)
        .select_related("manager")
        .order_by("last_active_at", "pk")[:limit]
    )


def segment_rules(segment: Segment) -> str:
    """The rules in one line, e.g. “inactive 30–59 days · roles: Sales · compliance courses”."""
    parts: list[str] = []
    low, high = segment.min_inactive_days, segment.max_inactive_days
    if low is not None and high is not None:
        parts.append(f"inactive {low}–{high} days")
    elif low is not None:
        parts.append(f"inactive {low}+ days")
    elif high is not None:
        parts.append(f"inactive up to {high} days")
    if segment.role_list:
        parts.append("roles: " + ", ".join(segment.role_list))
    if segment.team_list:
        parts.append("teams: " + ", ".join(segment.team_list))
    if segment.course_type_list:
        parts.append(", ".join(segment.course_type_list) + " courses")
    low_rate, high_rate = segment.min_completion_rate, segment.max_completion_rate
    if low_rate is not None or high_rate is not None:
        parts.append(f"completion {low_rate or 0:g}–{100 if high_rate is None else high_rate:g}%")
    if segment.has_manager is not None:
        parts.append("with a manager" if segment.has_manager else "without a manager")
    if segment.answered_list:
        parts.append("answered: " + ", ".join(segment.answered_list))
    return " · ".join(parts) or "every contactable learner"


def find_learner(lookup: str) -> Learner | None:
    """The learner staff typed: an email, an LMS id, or the row's number."""
    lookup = lookup.strip()
    query = Q(email__iexact=lookup) | Q(external_id=lookup)
    if lookup.isdigit():
        query |= Q(pk=int(lookup))
    return Learner.objects.filter(query).select_related("manager").order_by("pk").first()


def random_preview_learner(step: Step, *, now: dt.datetime, audience: str) -> Learner | None:
    """A random learner the step's campaign would email now; any contactable learner when the
    segment matches nobody yet, so a new campaign can still be previewed."""
    for candidates in (segment_learners(step.campaign.segment, now=now), contactable_learners()):
        if audience == Audience.MANAGER:
            candidates = candidates.filter(manager__isnull=False)
        total = candidates.count()
        if total:
            # An offset instead of ORDER BY RANDOM(): that sorts the whole segment.
            offset = random.randrange(total)
            return candidates.select_related("manager").order_by("pk")[offset]
    return None


@dataclass(frozen=True)
class TimelineEntry:
    day: int
    hours: int
    audience: str
    name: str
    subject: str
    cta_label: str
    incentive: str
    variants: str
    step_id: int

    @property
    def when(self) -> str:
        return f"Day {self.day}" + (f", +{self.hours} h" if self.hours else "")


def campaign_timeline(campaign: Campaign) -> list[TimelineEntry]:
    """The drip as staff read it: day, who gets it, what it says, in the order it goes out."""
    steps = campaign.steps.select_related("incentive").prefetch_related("variants")
    entries: list[TimelineEntry] = []
    for step in steps.order_by("position"):
        variants = list(step.variants.all())
        total = sum(v.weight for v in variants)
        split = " / ".join(
            f"{v.label} {round(100 * v.weight / total) if total else 0}%" for v in variants
        )
        entries.append(
            TimelineEntry(
                day=step.delay_days,
                hours=step.delay_hours,
                audience=step.get_audience_display(),
                name=step.name,
                subject=step.subject,
                cta_label=step.cta_label,
                incentive=step.incentive.title if step.incentive else "",
                variants=split,
                step_id=step.pk,
            )
        )
    return entries
