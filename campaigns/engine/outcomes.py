"""Recording what came of each enrollment, so a report does not join every enrollment to its
learner's whole history at every look.

The outcome is defined once, in :mod:`campaigns.reports.outcomes`; this is its one writer.
After each pass, :func:`record_outcomes` stores on each enrollment that needs it the activity
part of that definition (``Enrollment.outcome_first_at`` / ``outcome_last_at`` /
``outcome_done_at``) and, on the campaign, what it was computed with: the activity events up
to ``outcomes_event_id``, the goal window and the activity kinds. An enrollment needs it when
it is new, when its learner has events since the campaign's last recording, or when staff
changed the campaign's goal window or kinds (then every enrollment of the campaign).

The event id is a safe bound only if no event with a smaller id can still appear. On
PostgreSQL, ids are handed out before their transaction commits, so :func:`settled_event_id`
briefly takes a lock that waits for the transactions inserting events to end (and gives up
after ``lock_timeout``: the next pass records instead). SQLite runs one writer at a time.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from django.db import OperationalError, connection, transaction

from campaigns.engine import planner_stats
from campaigns.models import Campaign, Enrollment
from campaigns.reports import outcomes
from learners.models import ActivityEvent

logger = logging.getLogger(__name__)

# How long the recording waits for the transactions that are storing events to commit.
SETTLE_TIMEOUT = "500ms"


@dataclass
class OutcomeRecording:
    campaigns: int = 0  # campaigns whose recording moved on
    enrollments: int = 0  # enrollments (re)recorded
    settled: bool = True  # False: events were still being stored; nothing recorded


def settled_event_id() -> int | None:
    """The highest activity event id below which every event is committed, or None if the
    transactions storing events did not end within :data:`SETTLE_TIMEOUT`."""
    table = connection.ops.quote_name(ActivityEvent._meta.db_table)
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute(f"SET LOCAL lock_timeout = '{SETTLE_TIMEOUT}'")
                # SHARE waits for every transaction holding the inserters' lock, and holds
                # new inserts back only until this transaction ends, a moment later.
                cursor.execute(f"LOCK TABLE {table} IN SHARE MODE")
            cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {table}")  # noqa: S608
            row = cursor.fetchone()
    except OperationalError:
        logger.info("outcomes: events are still being stored; recorded at the next pass")
        return None
    return int(row[0]) if row else 0


def record_outcomes(*, now: dt.datetime) -> OutcomeRecording:
    """Record the outcomes that need it, campaign by campaign (a fixed number of statements
    for each, whatever the number of learners). ``now`` is not a cut-off: a recorded outcome
    holds every event known, and a report reads from it what happened by its own moment."""
    result = OutcomeRecording()
    through = settled_event_id()
    if through is None:
        result.settled = False
        return result
    for campaign in Campaign.objects.exclude(status=Campaign.Status.DRAFT).order_by("pk"):
        with transaction.atomic():
            locked = (
                Campaign.objects.select_for_update(skip_locked=True).filter(pk=campaign.pk).first()
            )
            if locked is None:
                continue
            recorded = _record_campaign(campaign=locked, through=through)
        if recorded is not None:
            result.campaigns += 1
            result.enrollments += recorded
    if result.enrollments:
        logger.info("outcomes at %s: %s", now.isoformat(), result)
        # A first recording writes every enrollment: reports plan with fresh statistics.
        planner_stats.refresh_after_bulk_write({Enrollment: result.enrollments})
    return result


def _record_campaign(*, campaign: Campaign, through: int) -> int | None:
    """Record ``campaign``'s outcomes that need it, within the caller's transaction, which
    holds the campaign's row; the number of enrollments recorded, or None if nothing was due.
    """
    window, kinds = campaign.goal_window_days, campaign.goal_activity_kinds
    redo = (campaign.outcomes_window_days, campaign.outcomes_activity_kinds) != (window, kinds)
    since = 0 if redo else campaign.outcomes_event_id
    # Asked every time, so a recording's statements do not depend on what it finds.
    unrecorded = campaign.enrollments.filter(outcome_recorded=False).exists()
    if not (redo or since < through or unrecorded):
        return None
    columns = outcomes.activity_sql(kinds="%s")
    joined = outcomes.in_window_sql(window="%s")
    # A redo takes every enrollment; otherwise the new ones and those whose learner has
    # events since the last recording. Each is computed from all its learner's events.
    scope = "1 = 1"
    if not redo:
        scope = (
            "(NOT e.outcome_recorded OR e.learner_id IN (SELECT ev2.learner_id"
            " FROM learners_activityevent ev2 WHERE ev2.id > %s AND ev2.id <= %s))"
        )
    scope_params: list[int] = [] if redo else [since, through]
    sql = f"""
        UPDATE campaigns_enrollment SET outcome_first_at = h.first_at,
               outcome_last_at = h.last_at, outcome_done_at = h.done_at, outcome_recorded = %s
        FROM (SELECT e.id, {columns}
              FROM campaigns_enrollment e
              LEFT JOIN learners_activityevent ev ON {joined}
              WHERE e.campaign_id = %s AND {scope}
              GROUP BY e.id) h
        WHERE campaigns_enrollment.id = h.id
    """  # noqa: S608 (fixed SQL fragments only; values are parameters)
    params: list[bool | int | str] = [True, kinds, kinds, kinds, kinds]
    params += [outcomes.MODULE_COMPLETED, window]
    params += [campaign.pk, *scope_params]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        recorded = int(cursor.rowcount)
    updated = Campaign.objects.filter(pk=campaign.pk).update(
        outcomes_event_id=through, outcomes_window_days=window, outcomes_activity_kinds=kinds
    )
    if updated != 1:
        raise RuntimeError(f"campaign {campaign.pk} vanished while its outcomes were recorded")
    return recorded
