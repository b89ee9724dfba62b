"""Leaving a campaign: learners who came back (reactivated) and learners who finished the
sequence without returning (sunset)."""

from __future__ import annotations

import datetime as dt

from django.db import connection
from django.db.models import (
    Case,
    CharField,
    DateTimeField,
    Exists,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)

from campaigns.engine.awards import record_awards
from campaigns.engine.results import ExitResult, SendBatch
from campaigns.engine.sends import insert_sends
from campaigns.models import Audience, Campaign, Enrollment, Send, SurveyResponse
from learners import contactability
from learners.models import Learner


def end_reactivated(*, campaign: Campaign, now: dt.datetime) -> ExitResult:
    """End the enrollments of learners active since they enrolled (they came back), and, where
    the campaign counts a survey answer as coming back, of learners who answered "why did you
    stop?" since they enrolled (the same rule as the results, :mod:`campaigns.reports.outcomes`).

    Their pending step sends are skipped and, if the campaign has one, a "welcome back"
    milestone send is created for those active in the LMS (not for the holdout, which gets
    nothing, nor for an answer alone: "welcome back" is for someone who is back).
    """
    active = Enrollment.objects.filter(campaign=campaign, status=Enrollment.Status.ACTIVE)
    oldest = active.order_by("enrolled_at").values_list("enrolled_at", flat=True).first()
    if oldest is None:
        return ExitResult(ended=0)
    # Only learners active after the oldest active enrollment can have come back: an index
    # range over the learners, instead of a join of every enrollment (a million of them, in
    # a campaign aimed at a whole company) with its learner at every pass.
    came_back = Q(learner__last_active_at__gt=oldest) & Q(
        learner__last_active_at__gt=F("enrolled_at")
    )
    answered = _answered_since_enrolling(now)
    if campaign.survey_answer_counts:
        came_back |= Q(Exists(answered))
    returned = active.filter(came_back)
    # Most passes find nobody: one look instead of three statements over every enrollment.
    if not returned.exists():
        return ExitResult(ended=0)
    # Before the enrollments end: the awards are those of the returns recorded now.
    awarded = record_awards(campaign=campaign, now=now)
    welcome = SendBatch()
    # A paused campaign still lets its learners go when they come back, but sends nothing: a
    # milestone email that waits for the campaign to resume would arrive days late.
    if campaign.welcome_back_enabled and campaign.status == Campaign.Status.ACTIVE:
        welcome = insert_sends(
            audience=Audience.LEARNER,
            kind=Send.Kind.WELCOME_BACK,
            step_sql="NULL",
            variant_sql="NULL",
            due_sql="%s",
            due_params=[connection.ops.adapt_datetimefield_value(now)],
            where=(
                "e.campaign_id = %s AND e.status = %s AND NOT e.is_holdout "
                "AND l.last_active_at > e.enrolled_at"
            ),
            where_params=[campaign.pk, Enrollment.Status.ACTIVE],
            now=now,
        )
    # Enrollments before sends, as an unsubscribe does: two transactions that lock the same
    # rows in the same order wait for each other instead of deadlocking.
    # An UPDATE cannot join: the same test as ``active``, as a subquery of the row.
    was_active = Exists(
        Learner.objects.filter(
            pk=OuterRef("learner_id"), last_active_at__gt=OuterRef("enrolled_at")
        )
    )
    last_active = Subquery(
        Learner.objects.filter(pk=OuterRef("learner_id")).values("last_active_at")[:1]
    )
    first_answer = Subquery(
        answered.order_by("created_at").values("created_at")[:1],
        output_field=DateTimeField(),
    )
    ended = returned.update(
        status=Enrollment.Status.REACTIVATED,
        # When they came back: the LMS activity, else (a campaign counting answers) the answer.
        reactivated_at=Case(
            When(was_active, then=last_active), default=first_answer, output_field=DateTimeField()
        ),
        ended_at=now,
        next_step=None,
        next_due_at=None,
        exit_reason=Case(
            When(was_active, then=Value("came back")),
            default=Value("answered the survey"),
            output_field=CharField(),
        ),
    )
    Send.objects.filter(
        enrollment__campaign=campaign,
        enrollment__status=Enrollment.Status.REACTIVATED,
        enrollment__ended_at=now,
        kind=Send.Kind.STEP,
        status__in=Send.PENDING,
    ).update(status=Send.Status.SKIPPED, skip_reason="learner came back")
    return ExitResult(
        ended=ended, sends_created=welcome.created, skipped=welcome.skipped, awarded=awarded
    )


def _answered_since_enrolling(now: dt.datetime) -> QuerySet[SurveyResponse]:
    """The enrollment's learner's survey answers after enrolling, up to ``now`` (correlated
    with the enrollment: for ``Exists`` and subqueries)."""
    return SurveyResponse.objects.filter(
        learner_id=OuterRef("learner_id"),
        created_at__gt=OuterRef("enrolled_at"),
        created_at__lte=now,
    )


def sunset_finished(*, campaign: Campaign, now: dt.datetime) -> ExitResult:
    """Sunset learners who got every step and stayed away for the sunset period: the
    enrollment ends, the learner is never enrolled again (``sunset_at``), and their manager gets
    a hand-off note (unless opted out; not for the holdout)."""
    finished = Enrollment.objects.filter(
        campaign=campaign,
        status=Enrollment.Status.ACTIVE,
        next_step__isnull=True,
        next_due_at__lte=now,
    )
    adapt = connection.ops.adapt_datetimefield_value
    handoffs = insert_sends(
        audience=Audience.MANAGER,
        kind=Send.Kind.HANDOFF,
        step_sql="NULL",
        variant_sql="NULL",
        due_sql="%s",
        due_params=[adapt(now)],
        # Learners without a manager get no row: there is nobody to hand over to.
        where=(
            "e.campaign_id = %s AND e.status = %s AND NOT e.is_holdout "
            "AND e.next_step IS NULL AND e.next_due_at <= %s AND l.manager_id IS NOT NULL"
        ),
        where_params=[campaign.pk, Enrollment.Status.ACTIVE, adapt(now)],
        now=now,
    )
    contactability.sunset_learners(learner_ids=finished.values("learner_id"), now=now)
    ended = finished.update(
        status=Enrollment.Status.SUNSET,
        ended_at=now,
        next_due_at=None,
        exit_reason="no activity after the last step",
    )
    return ExitResult(ended=ended, sends_created=handoffs.created, skipped=handoffs.skipped)
