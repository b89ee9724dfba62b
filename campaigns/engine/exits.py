"""Leaving a campaign: learners who came back (reactivated) and learners who finished the
sequence without returning (sunset)."""

from __future__ import annotations

import datetime as dt

from django.db import connection
from django.db.models import (
    F,
    OuterRef,
    Subquery,
)

from campaigns.engine.awards import record_awards
from campaigns.engine.results import ExitResult, SendBatch
from campaigns.engine.sends import insert_sends
from campaigns.models import Audience, Campaign, Enrollment, Send
from learners import contactability
from learners.models import Learner


def end_reactivated(*, campaign: Campaign, now: dt.datetime) -> ExitResult:
    """End the enrollments of learners active since they enrolled (they came back).

    Their pending step sends are skipped and, if the campaign has one, a "welcome back"
    milestone send is created (not for the holdout, which gets nothing).
    """
    returned = Enrollment.objects.filter(
        campaign=campaign,
        status=Enrollment.Status.ACTIVE,
        learner__last_active_at__gt=F("enrolled_at"),
    )
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
    ended = returned.update(
        status=Enrollment.Status.REACTIVATED,
        reactivated_at=Subquery(
            Learner.objects.filter(pk=OuterRef("learner_id")).values("last_active_at")[:1]
        ),
        ended_at=now,
        next_step=None,
        next_due_at=None,
        exit_reason="came back",
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
