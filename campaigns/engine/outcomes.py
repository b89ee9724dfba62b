"""Recording what came of each enrollment, so a report does not join every enrollment to its
learner's whole history at every look.

The outcome is defined once, in :mod:`campaigns.reports.outcomes`; this is its one writer.
After each pass, :func:`record_outcomes` stores on the enrollments that need it the activity
part of that definition (``Enrollment.outcome_first_at`` / ``outcome_last_at`` /
``outcome_done_at``) and, on the campaign, what the recording covers: the enrollments up to
``outcomes_enrollment_id``, the activity events up to ``outcomes_event_id``, the goal window and
the activity kinds. What needs it: a new enrollment with activity in its window (one without
keeps its empty columns, so a pass that enrolls a million learners writes only those who have
some), an enrollment whose learner has events since the last recording, and every enrollment of
a campaign whose goal window or kinds staff changed. An event changed or deleted in the admin
(no new id to notice) has its learner's outcomes written again at once, in the same
transaction (:func:`rerecord_learners`, on ``learners.signals.activity_rewritten``).

An id is a safe bound only if no row with a smaller id can still appear. On PostgreSQL, ids are
handed out before their transaction commits, so :func:`settled_ids` briefly takes a lock that
waits for the transactions inserting events or enrollments to end (and gives up after
``lock_timeout``: the next pass records instead). SQLite runs one writer at a time.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from django.db import OperationalError, connection, transaction
from django.dispatch import receiver

from campaigns.engine import planner_stats
from campaigns.models import Campaign, Enrollment
from campaigns.reports import outcomes
from learners.models import ActivityEvent
from learners.signals import activity_rewritten

logger = logging.getLogger(__name__)

# How long the recording waits for the transactions that are storing rows to commit.
SETTLE_TIMEOUT = "500ms"


@dataclass
class OutcomeRecording:
    campaigns: int = 0  # campaigns whose recording moved on
    enrollments: int = 0  # enrollments whose outcome was written
    settled: bool = True  # False: rows were still being stored; nothing recorded


@dataclass(frozen=True)
class Settled:
    event_id: int
    enrollment_id: int


def settled_ids() -> Settled | None:
    """The highest activity event and enrollment ids below which every row is committed, or
    None if the transactions storing them did not end within :data:`SETTLE_TIMEOUT`."""
    events = connection.ops.quote_name(ActivityEvent._meta.db_table)
    enrollments = connection.ops.quote_name(Enrollment._meta.db_table)
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute(f"SET LOCAL lock_timeout = '{SETTLE_TIMEOUT}'")
                # SHARE waits for every transaction holding the inserters' lock, and holds
                # new inserts back only until this transaction ends, a moment later.
                cursor.execute(f"LOCK TABLE {events}, {enrollments} IN SHARE MODE")
            cursor.execute(
                f"SELECT (SELECT COALESCE(MAX(id), 0) FROM {events}),"  # noqa: S608
                f" (SELECT COALESCE(MAX(id), 0) FROM {enrollments})"
            )
            row = cursor.fetchone()
    except OperationalError:
        logger.info("outcomes: rows are still being stored; recorded at the next pass")
        return None
    return Settled(event_id=int(row[0]), enrollment_id=int(row[1]))


def record_outcomes(*, now: dt.datetime) -> OutcomeRecording:
    """Record the outcomes that need it, campaign by campaign (a fixed number of statements
    for each, whatever the number of learners). ``now`` is not a cut-off: a recorded outcome
    holds every event known, and a report reads from it what happened by its own moment."""
    result = OutcomeRecording()
    through = settled_ids()
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
        # A redone campaign rewrites every enrollment: reports plan with fresh statistics.
        planner_stats.refresh_after_bulk_write({Enrollment: result.enrollments})
    return result


def _record_campaign(*, campaign: Campaign, through: Settled) -> int | None:
    """Record ``campaign``'s outcomes that need it, within the caller's transaction, which
    holds the campaign's row; the number of enrollments written, or None if nothing was due.
    """
    window, kinds = campaign.goal_window_days, campaign.goal_activity_kinds
    # Never recorded (a window of 0): every enrollment's columns are still empty, as for a
    # new one. Recorded with another window or kinds: every enrollment is written again.
    never = campaign.outcomes_window_days == 0
    recorded_with = (campaign.outcomes_window_days, campaign.outcomes_activity_kinds)
    redo = not never and recorded_with != (window, kinds)
    events_since = campaign.outcomes_event_id
    enrolled_since = 0 if redo else campaign.outcomes_enrollment_id
    caught_up = events_since >= through.event_id and enrolled_since >= through.enrollment_id
    if caught_up and not (redo or never):
        return None
    if redo:
        # Every enrollment, each from all its learner's events (and emptied where none).
        parts = [(True, "e.id <= %s", [through.enrollment_id])]
    else:
        parts = [
            # Recorded enrollments whose learner has events since: computed again from all.
            (
                True,
                "e.id <= %s AND e.learner_id IN (SELECT ev2.learner_id"
                " FROM learners_activityevent ev2 WHERE ev2.id > %s AND ev2.id <= %s)",
                [enrolled_since, events_since, through.event_id],
            ),
            # New enrollments: only those with activity in their window are written.
            (False, "e.id > %s AND e.id <= %s", [enrolled_since, through.enrollment_id]),
        ]
    # By the campaign's present goal window and kinds: its row is locked, so they hold still
    # and are what the campaign is marked as recorded with below.
    written = sum(
        _write(
            definition="goal",
            outer=outer,
            where=f"e.campaign_id = %s AND {where}",
            params=[campaign.pk, *params],
        )
        for outer, where, params in parts
    )
    updated = Campaign.objects.filter(pk=campaign.pk).update(
        outcomes_enrollment_id=through.enrollment_id,
        outcomes_event_id=through.event_id,
        outcomes_window_days=window,
        outcomes_activity_kinds=kinds,
    )
    if updated != 1:
        raise RuntimeError(f"campaign {campaign.pk} vanished while its outcomes were recorded")
    return written


def _write(*, definition: str, outer: bool, where: str, params: list[int]) -> int:
    """One ``UPDATE … FROM``: the enrollments ``e`` matching ``where`` (SQL; its parameters
    ``params``) get their activity columns computed from all their learner's events, as the
    reports define them, by their campaign ``c``'s goal window and kinds (``definition``
    "goal": its present ones; "outcomes": those its recording used). With ``outer``, those
    without any event in their window are emptied too; without, they are left as they are."""
    columns = outcomes.activity_sql(kinds=f"c.{definition}_activity_kinds")
    joined = outcomes.in_window_sql(window=f"c.{definition}_window_days")
    join = "LEFT JOIN" if outer else "JOIN"
    sql = f"""
        UPDATE campaigns_enrollment SET outcome_first_at = h.first_at,
               outcome_last_at = h.last_at, outcome_done_at = h.done_at
        FROM (SELECT e.id, {columns}
              FROM campaigns_enrollment e
              JOIN campaigns_campaign c ON c.id = e.campaign_id
              {join} learners_activityevent ev ON {joined}
              WHERE {where}
              GROUP BY e.id) h
        WHERE campaigns_enrollment.id = h.id
    """  # noqa: S608 (fixed SQL fragments only; values are parameters)
    with connection.cursor() as cursor:
        cursor.execute(sql, [outcomes.MODULE_COMPLETED, *params])
        return int(cursor.rowcount)


def rerecord_learners(*, learner_ids: list[int]) -> int:
    """Write again the recorded outcomes of the learners ``learner_ids`` from their events as
    they are now, each by the goal window and kinds its campaign's recording used: after an
    event was changed or deleted, which the recording's event ids cannot tell. The number of
    enrollments written."""
    if not learner_ids:
        return 0
    ids = ", ".join(["%s"] * len(learner_ids))
    return _write(
        definition="outcomes",
        outer=True,
        where=f"e.learner_id IN ({ids}) AND c.outcomes_window_days > 0"
        " AND e.id <= c.outcomes_enrollment_id",
        params=learner_ids,
    )


@receiver(activity_rewritten, dispatch_uid="campaigns.engine.outcomes.rerecord")
def _activity_rewritten(sender: object, learner_ids: list[int], **kwargs: object) -> None:
    rerecord_learners(learner_ids=learner_ids)
