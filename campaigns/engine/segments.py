"""A segment's rules as one queryset: who matches now."""

from __future__ import annotations

import datetime as dt

from django.db.models import Exists, OuterRef, QuerySet, Subquery

from campaigns.models import Segment, SurveyResponse
from learners.models import CourseProgress, Learner


def contactable_learners() -> QuerySet[Learner]:
    """Learners we may email at all: not unsubscribed, suppressed or sunset."""
    return Learner.objects.filter(
        unsubscribed_at__isnull=True, suppressed_at__isnull=True, sunset_at__isnull=True
    )


def segment_learners(segment: Segment, *, now: dt.datetime) -> QuerySet[Learner]:
    """Learners who match the segment's rules at ``now``: one query, no per-learner Python.

    Days of inactivity are whole days since ``last_active_at``: "30–59" takes a learner last
    seen 30 days ago up to one last seen 59 days and 23 hours ago. Learners with no recorded
    activity at all are not inactive learners and never match an inactivity window.
    """
    qs = contactable_learners()
    if segment.min_inactive_days is not None or segment.max_inactive_days is not None:
        qs = qs.filter(last_active_at__isnull=False)
    if segment.min_inactive_days is not None:
        qs = qs.filter(last_active_at__lte=now - dt.timedelta(days=segment.min_inactive_days))
    if segment.max_inactive_days is not None:
        qs = qs.filter(last_active_at__gt=now - dt.timedelta(days=segment.max_inactive_days + 1))
    if segment.role_list:
        qs = qs.filter(role__in=segment.role_list)
    if segment.team_list:
        qs = qs.filter(team__in=segment.team_list)
    if segment.min_completion_rate is not None:
        qs = qs.filter(completion_rate__gte=segment.min_completion_rate)
    if segment.max_completion_rate is not None:
        qs = qs.filter(completion_rate__lte=segment.max_completion_rate)
    if segment.has_manager is not None:
        qs = qs.filter(manager__isnull=not segment.has_manager)
    if segment.answered_list:
        # "answered: no time": any answer of theirs with one of these codes, at any time.
        qs = qs.filter(
            Exists(
                SurveyResponse.objects.filter(
                    learner=OuterRef("pk"), reason__in=segment.answered_list
                )
            )
        )
    if segment.course_type_list:
        qs = qs.filter(
            Exists(
                CourseProgress.objects.filter(
                    learner=OuterRef("pk"),
                    percent_complete__lt=100,
                    course__course_type__in=segment.course_type_list,
                )
            )
        )
    return qs


def focus_course_subquery(segment: Segment) -> Subquery:
    """The course a learner's emails talk about: their most recently touched unfinished course
    (of the segment's course types, if it names any), as a subquery for ``annotate``."""
    progress = CourseProgress.objects.filter(learner=OuterRef("pk"), percent_complete__lt=100)
    if segment.course_type_list:
        progress = progress.filter(course__course_type__in=segment.course_type_list)
    return Subquery(progress.order_by("-updated_at", "-id").values("course_id")[:1])
