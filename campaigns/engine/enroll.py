"""Enrollment: the segment's new members join a campaign, with the holdout assigned."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import connection, transaction

from campaigns.engine import buckets
from campaigns.engine.buckets import arms_of, due_case_sql, steps_of
from campaigns.engine.results import EnrollResult, SendBatch
from campaigns.engine.segments import focus_course_subquery, segment_learners
from campaigns.engine.sends import create_step_sends
from campaigns.engine.sql import ENROLLMENT, without_nested_loops
from campaigns.models import Campaign, Enrollment, Step


# Longer than most: one INSERT … SELECT with its parameters in the order the statement
# needs them, and a docstring on why day-0 sends are created here. Split, the statement
# would be harder to read, not easier.
def enroll_segment_members(*, campaign: Campaign, now: dt.datetime) -> EnrollResult:
    """Enroll the segment's members who are in no active enrollment and were never in this
    campaign, in one ``INSERT … SELECT``.

    The holdout is a hash of (learner, campaign), so it is stable and needs no random state.
    Holdout learners are enrolled with no next step: they get nothing, and are sunset at the
    same time as the treated learners would be, so both groups stay comparable.

    When the first step is due at once (day 0), its sends are created here too and the
    enrollments start at the second step: creating them at step 1 and advancing them a moment
    later would rewrite every new row in the same transaction, which on PostgreSQL also repeats
    every foreign-key check — the largest cost of a first pass.
    """
    steps = steps_of(campaign)
    segment = campaign.segment
    members = (
        segment_learners(segment, now=now)
        .order_by()
        .annotate(focus_course=focus_course_subquery(segment))
        .values("id", "focus_course")
    )
    members_sql, members_params = members.query.sql_with_params()
    adapt = connection.ops.adapt_datetimefield_value
    holdout_bucket = buckets.bucket_sql(
        "seg.id", purpose=buckets.HOLDOUT, salt=campaign.pk, modulus=100
    )
    holdout = f"({holdout_bucket} < {int(campaign.holdout_percent)})"
    first_now = bool(steps) and all(arm.delay <= dt.timedelta(0) for arm in arms_of(steps[0])[1])
    next_step_sql, next_due_sql, next_due_params = _first_wait(
        campaign=campaign, steps=steps, holdout=holdout, first_now=first_now, now=now
    )
    sql = f"""
        INSERT INTO {ENROLLMENT}
            (campaign_id, learner_id, course_id, enrolled_at, is_holdout, status,
             next_step, next_due_at, exit_reason)
        SELECT %s, seg.id, seg.focus_course, %s, {holdout}, %s, {next_step_sql}, {next_due_sql}, ''
        FROM ({members_sql}) seg
        WHERE NOT EXISTS (
            SELECT 1 FROM {ENROLLMENT} e
            WHERE e.learner_id = seg.id AND (e.status = %s OR e.campaign_id = %s)
        )
        ON CONFLICT DO NOTHING
        RETURNING is_holdout
    """  # noqa: S608 (table names, integers and ORM-compiled SQL only)
    # The SELECT list comes before FROM, so its parameters come before the segment's.
    params = [
        campaign.pk,
        adapt(now),
        Enrollment.Status.ACTIVE,
        *next_due_params,
        *members_params,
        Enrollment.Status.ACTIVE,
        campaign.pk,
    ]
    with transaction.atomic(), connection.cursor() as cursor, without_nested_loops(cursor):
        cursor.execute(sql, params)
        flags = [bool(is_holdout) for (is_holdout,) in cursor.fetchall()]
    enrolled, holdouts = len(flags), sum(flags)
    sends = SendBatch()
    if first_now and enrolled > holdouts:
        sends = create_step_sends(
            campaign=campaign,
            step=steps[0],
            where=(
                "e.campaign_id = %s AND e.status = %s AND NOT e.is_holdout AND e.enrolled_at = %s"
            ),
            where_params=[campaign.pk, Enrollment.Status.ACTIVE, adapt(now)],
            due_sql="e.enrolled_at",
            now=now,
        )
    return EnrollResult(enrolled=enrolled, holdout=holdouts, sends=sends)


def _first_wait(
    *, campaign: Campaign, steps: list[Step], holdout: str, first_now: bool, now: dt.datetime
) -> tuple[str, str, list[Any]]:
    """SQL for a new enrollment's ``next_step`` and ``next_due_at`` (and the latter's params).

    The holdout waits for the moment the treated learners would be sunset, with no step.
    """
    adapt = connection.ops.adapt_datetimefield_value
    last_delay = max((arms_of(s)[1][-1].delay for s in steps), default=dt.timedelta(0))
    holdout_end = now + last_delay + dt.timedelta(days=campaign.sunset_after_days)
    if not steps:
        start = None
    elif first_now:
        start = steps[1] if len(steps) > 1 else None
    else:
        start = steps[0]
    if start is None:
        # No steps, or a single step sent now: straight to the sunset wait.
        return "NULL", "%s", [adapt(holdout_end)]
    first_sql, first_params = due_case_sql("seg.id", start, now)
    return (
        f"CASE WHEN {holdout} THEN NULL ELSE {int(start.position)} END",
        f"CASE WHEN {holdout} THEN %s ELSE {first_sql} END",
        [adapt(holdout_end), *first_params],
    )
