"""Creating the weekly team digests that are due: one ``INSERT … SELECT`` per week they are
for (one, or two on the day the world's time zones straddle a week), whatever the number of
managers.

A manager's digest is due from the staff-chosen local hour of the staff-chosen weekday until
the end of that local day, in the manager's own time zone (blank: the
``MANAGER_DEFAULT_TIME_ZONE`` setting), so a pass missed at 09:00 still sends it at 10:00, but
never on another day. Whether a zone is due is decided in Python per distinct zone (zoneinfo:
DST-aware), like quiet hours.

The first pass in a manager's window writes their row for the week: ``queued``, or ``skipped``
("nothing to report") when none of their reports is in a campaign or came back, which sends
nothing and says why. So every later pass of that day finds no manager without a row (one
cheap query) and skips the aggregate over the learners; the unique (manager, week)
constraint and ``ON CONFLICT DO NOTHING`` make a racing or repeated pass harmless.
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
    without_jit,
    without_nested_loops,
)
from campaigns.models import Channel, DigestSettings, Enrollment, ManagerDigest
from learners.models import Manager, TeamChannel

TEAM_CHANNEL = TeamChannel._meta.db_table
# A report who came back this recently is still in the digest ("came back this week").
CAME_BACK_WITHIN = dt.timedelta(days=7)


NOTHING_TO_REPORT = "nothing to report"


@dataclass
class DigestBatch:
    # Digests queued to go out; managers with nothing to report get a skipped row instead.
    created: int = 0
    nothing_to_report: int = 0
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
    active campaign (not in its holdout) or who came back within the last week; the others
    get a skipped row ("nothing to report") and no email. Opted-out managers get no row. Each
    digest stores the team's completion rate (the mean of its reports' completion rates) and
    last week's, for the change above the table.

    A constant number of queries: the settings row, the managers' distinct zones, and per due
    week a look for managers without a row and, if there are any, one ``INSERT … SELECT``.
    With ``queue`` the new digests are stamped as handed to delivery and their ids returned.
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
        if not _anyone_without_a_row(week=week, zones=names):
            continue
        rows = _insert(week=week, zones=names, now=now, queue=queue, config=config)
        queued = [pk for pk, status in rows if status == ManagerDigest.Status.QUEUED]
        batch.created += len(queued)
        batch.nothing_to_report += len(rows) - len(queued)
        if queue:
            batch.digest_ids += queued
    return batch


# The managers of these zones who may get a digest and have no row for the week yet (the
# columns the INSERT reads: their addresses on every channel a digest can go by).
_CANDIDATES = f"""
    SELECT {{columns}} FROM {MANAGER} m
    WHERE m.time_zone IN ({{zones}})
      AND m.nudges_opted_out_at IS NULL AND m.digests_opted_out_at IS NULL
      AND m.email <> ''
      AND NOT EXISTS (SELECT 1 FROM {DIGEST} d WHERE d.manager_id = m.id AND d.week_of = %s)
"""  # noqa: S608 (table names and placeholders only)


def _anyone_without_a_row(*, week: dt.date, zones: list[str]) -> bool:
    # Only whether there is one: the anti-join stops at the first, reading no other column.
    sql = _CANDIDATES.format(columns="m.id", zones=", ".join(["%s"] * len(zones))) + " LIMIT 1"
    with connection.cursor() as cursor:
        cursor.execute(sql, [*zones, connection.ops.adapt_datefield_value(week)])
        return cursor.fetchone() is not None


def _insert(
    *, week: dt.date, zones: list[str], now: dt.datetime, queue: bool, config: DigestSettings
) -> list[tuple[int, str]]:
    adapt, day = connection.ops.adapt_datetimefield_value, connection.ops.adapt_datefield_value
    columns = (
        "m.id, m.email, m.slack_user_id, m.slack_not_found_at, m.phone, m.sms_consent_at, "
        "m.sms_opted_out_at"
    )
    candidates = _CANDIDATES.format(columns=columns, zones=", ".join(["%s"] * len(zones)))
    # Handed to delivery now, when queued (a NULL parameter would have no type in the CASE).
    enqueued = "CASE WHEN t.reports > 0 THEN %s END" if queue else "NULL"
    # On Slack for managers it has not said it does not know (it tells only when asked, at
    # delivery); on Teams where every report is in one team with a channel; by text message to
    # managers with a number and SMS consent; the email for the others.
    slack = f"%s = '{Channel.SLACK}' AND c.slack_not_found_at IS NULL"
    has_channel = f"EXISTS (SELECT 1 FROM {TEAM_CHANNEL} tc WHERE tc.team = t.first_team)"  # noqa: S608
    teams = (
        f"%s = '{Channel.TEAMS}' AND t.first_team = t.last_team AND t.first_team <> '' "
        f"AND {has_channel}"
    )
    text = (
        f"%s = '{Channel.SMS}' AND c.phone <> '' AND c.sms_consent_at IS NOT NULL "
        "AND c.sms_opted_out_at IS NULL"
    )
    sql = f"""
        WITH candidates AS ({candidates}),
        reporting AS (
            SELECT DISTINCT e.learner_id FROM {ENROLLMENT} e
            WHERE NOT e.is_holdout
              AND (e.status = %s OR (e.status = %s AND e.reactivated_at > %s))
        ),
        team AS (
            SELECT l.manager_id, AVG(l.completion_rate) AS rate, COUNT(r.learner_id) AS reports,
                   MIN(CASE WHEN r.learner_id IS NOT NULL THEN l.team END) AS first_team,
                   MAX(CASE WHEN r.learner_id IS NOT NULL THEN l.team END) AS last_team
            FROM {LEARNER} l
            LEFT JOIN reporting r ON r.learner_id = l.id
            WHERE l.manager_id IN (SELECT id FROM candidates)
            GROUP BY l.manager_id
        )
        INSERT INTO {DIGEST}
            (manager_id, week_of, to_email, channel, to_address, status, due_at, skip_reason,
             postponed_reason, attempts, last_error, created_at, enqueued_at, subject,
             message_id, esp_message_id, reports, team_completion_rate,
             previous_completion_rate)
        SELECT c.id, %s, c.email,
               CASE WHEN {slack} THEN '{Channel.SLACK}' WHEN {teams} THEN '{Channel.TEAMS}'
                    WHEN {text} THEN '{Channel.SMS}' ELSE '{Channel.EMAIL}' END,
               CASE WHEN {slack} THEN c.slack_user_id WHEN {teams} THEN t.first_team
                    WHEN {text} THEN c.phone ELSE '' END,
               CASE WHEN t.reports > 0 THEN %s ELSE %s END, %s,
               CASE WHEN t.reports > 0 THEN '' ELSE %s END, '', 0, '', %s,
               {enqueued}, '', '', '', COALESCE(t.reports, 0), t.rate,
               p.team_completion_rate
        FROM candidates c
        LEFT JOIN team t ON t.manager_id = c.id
        LEFT JOIN {DIGEST} p ON p.manager_id = c.id AND p.week_of = %s
        ON CONFLICT DO NOTHING
        RETURNING id, status
    """  # noqa: S608 (table names and placeholders only)
    params = [
        *zones,
        day(week),
        Enrollment.Status.ACTIVE,
        Enrollment.Status.REACTIVATED,
        adapt(now - CAME_BACK_WITHIN),
        day(week),
        *[config.channel] * 6,
        ManagerDigest.Status.QUEUED,
        ManagerDigest.Status.SKIPPED,
        adapt(now),
        NOTHING_TO_REPORT,
        adapt(now),
        *([adapt(now)] if queue else []),
        day(week - dt.timedelta(days=7)),
    ]
    with connection.cursor() as cursor, without_nested_loops(cursor), without_jit(cursor):
        cursor.execute(sql, params)
        return [(int(pk), str(status)) for pk, status in cursor.fetchall()]


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
