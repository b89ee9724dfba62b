"""Creating the weekly team digests that are due: one ``INSERT … SELECT`` per week they are
for (one, or two on the day the world's time zones straddle a week), whatever the number of
managers.

A manager's digest is due from the staff-chosen local hour of the staff-chosen weekday until
the end of that local day, in the manager's own time zone (blank: the
``MANAGER_DEFAULT_TIME_ZONE`` setting), so a pass missed at 09:00 still sends it at 10:00, but
never on another day. Whether a zone is due is decided in Python per distinct zone (zoneinfo:
DST-aware), like quiet hours. The unique (manager, week) constraint, ``ON CONFLICT DO NOTHING``
and the ``NOT EXISTS`` that keeps already-served managers out of the aggregate make every
later pass of that day create nothing and cost little.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connection

from campaigns.engine import windows
from campaigns.engine.release import REENQUEUE_AFTER
from campaigns.engine.sql import (
    DIGEST,
    ENROLLMENT,
    LEARNER,
    MANAGER,
    fetch_ids,
    without_nested_loops,
)
from campaigns.models import DigestSettings, Enrollment, ManagerDigest
from learners.models import Manager

# A report who came back this recently is still in the digest ("came back this week").
CAME_BACK_WITHIN = dt.timedelta(days=7)


@dataclass
class DigestBatch:
    created: int = 0
    # Digests to hand to delivery now (only when asked to hand over).
    digest_ids: list[int] = field(default_factory=list)


def manager_zone(name: str) -> str:
    """The zone a manager's digest follows: their own, else the setting."""
    return name or settings.MANAGER_DEFAULT_TIME_ZONE


def week_of(local: dt.datetime) -> dt.date:
    """The Monday of the week ``local`` (a manager's local time) falls in."""
    return local.date() - dt.timedelta(days=local.weekday())


def due_weeks(
    *, zones: list[str], now: dt.datetime, weekday: int, hour: int
) -> dict[dt.date, list[str]]:
    """Of the managers' stored zone names, those whose digest is due at ``now``, by week."""
    due: dict[dt.date, list[str]] = defaultdict(list)
    for name in zones:
        local = now.astimezone(windows.zone(manager_zone(name)))
        # ">= hour", not "== hour": an hour skipped by a spring-forward change (02:00) or a
        # pass that did not run still yields the digest later that day.
        if local.weekday() == weekday and local.hour >= hour:
            due[week_of(local)].append(name)
    return dict(due)


def create_due_digests(*, now: dt.datetime, queue: bool = False) -> DigestBatch:
    """Create the digests due at ``now`` for managers with something to report: reports in an
    active campaign (not in its holdout) or who came back within the last week. Opted-out
    managers get none. Each digest stores the team's completion rate (the mean of its
    reports' completion rates) and last week's, for the change above the table.

    A constant number of queries: the settings row, the managers' distinct zones, one
    ``INSERT … SELECT`` per due week. With ``queue`` the new digests are stamped as handed to
    delivery and their ids returned.
    """
    config = DigestSettings.current()
    if not config.enabled:
        return DigestBatch()
    zones = list(
        Manager.objects.filter(nudges_opted_out_at__isnull=True, digests_opted_out_at__isnull=True)
        .order_by()
        .values_list("time_zone", flat=True)
        .distinct()
    )
    batch = DigestBatch()
    for week, names in sorted(
        due_weeks(zones=zones, now=now, weekday=config.weekday, hour=config.hour).items()
    ):
        ids = _insert(week=week, zones=names, now=now, queue=queue)
        batch.created += len(ids)
        if queue:
            batch.digest_ids += ids
    return batch


def _insert(*, week: dt.date, zones: list[str], now: dt.datetime, queue: bool) -> list[int]:
    adapt, day = connection.ops.adapt_datetimefield_value, connection.ops.adapt_datefield_value
    zone_marks = ", ".join(["%s"] * len(zones))
    sql = f"""
        WITH candidates AS (
            SELECT m.id, m.email FROM {MANAGER} m
            WHERE m.time_zone IN ({zone_marks})
              AND m.nudges_opted_out_at IS NULL AND m.digests_opted_out_at IS NULL
              AND m.email <> ''
              AND NOT EXISTS (
                  SELECT 1 FROM {DIGEST} d WHERE d.manager_id = m.id AND d.week_of = %s)
        ),
        reporting AS (
            SELECT DISTINCT e.learner_id FROM {ENROLLMENT} e
            WHERE NOT e.is_holdout
              AND (e.status = %s OR (e.status = %s AND e.reactivated_at > %s))
        ),
        team AS (
            SELECT l.manager_id, AVG(l.completion_rate) AS rate, COUNT(r.learner_id) AS reports
            FROM {LEARNER} l
            LEFT JOIN reporting r ON r.learner_id = l.id
            WHERE l.manager_id IN (SELECT id FROM candidates)
            GROUP BY l.manager_id
            HAVING COUNT(r.learner_id) > 0
        )
        INSERT INTO {DIGEST}
            (manager_id, week_of, to_email, status, due_at, skip_reason, attempts, last_error,
             created_at, enqueued_at, subject, message_id, esp_message_id, reports,
             team_completion_rate, previous_completion_rate)
        SELECT c.id, %s, c.email, %s, %s, '', 0, '', %s, %s, '', '', '', t.reports, t.rate,
               p.team_completion_rate
        FROM candidates c
        JOIN team t ON t.manager_id = c.id
        LEFT JOIN {DIGEST} p ON p.manager_id = c.id AND p.week_of = %s
        ON CONFLICT DO NOTHING
        RETURNING id
    """  # noqa: S608 (table names and placeholders only)
    params = [
        *zones,
        day(week),
        Enrollment.Status.ACTIVE,
        Enrollment.Status.REACTIVATED,
        adapt(now - CAME_BACK_WITHIN),
        day(week),
        ManagerDigest.Status.QUEUED,
        adapt(now),
        adapt(now),
        adapt(now) if queue else None,
        day(week - dt.timedelta(days=7)),
    ]
    with connection.cursor() as cursor, without_nested_loops(cursor):
        cursor.execute(sql, params)
        return [row[0] for row in cursor.fetchall()]


def hand_over_stale_digests(*, now: dt.datetime) -> list[int]:
    """Queued digests no delivery task is known to hold (a retry whose back-off has passed, a
    task lost with the broker): stamp and return them to be handed to delivery again."""
    adapt = connection.ops.adapt_datetimefield_value
    return fetch_ids(
        f"""
        UPDATE {DIGEST} SET enqueued_at = %s
        WHERE status = %s AND due_at <= %s AND (enqueued_at IS NULL OR enqueued_at < %s)
        RETURNING id
        """,  # noqa: S608
        [adapt(now), ManagerDigest.Status.QUEUED, adapt(now), adapt(now - REENQUEUE_AFTER)],
    )
