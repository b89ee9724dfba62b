"""What came of an enrollment: the one definition of *reactivated* every report uses.

A learner is **reactivated** when they were active in the LMS (an activity event of the kinds
the campaign counts, any kind when it names none) after enrolling and within the campaign's
goal window (``goal_window_days`` after ``enrolled_at``); where the campaign counts a survey
answer as coming back (``survey_answer_counts``), a "why did you stop?" answer in the window
counts like activity, as the engine's exits count it. A learner **completed a module** when
a ``module_completed`` event falls in the same window. Both are counted for treated and
holdout learners alike, whatever became of the enrollment since (ended, sunset, unsubscribed,
suppressed, never sent anything): the analysis is by assignment, intention to treat.

An outcome is **final** once the window has closed (``enrolled_at + window <= now``); before
that a learner who has not come back yet may still do so, so open windows are always counted
apart. Events are counted only up to ``now``, so a report for an earlier moment shows what was
known then.

The definition is one SQL relation, :func:`outcome_sql`, that the funnel, the lift and the A/B
queries join: one row per enrollment with its first and last activity in the window, its first
module completion in the window and whether the window is still open. It is built from set
operations only (the events inside a window joined to their enrollments and grouped, then
outer-joined to every enrollment), so its cost is a pass over the campaign's enrollments and
their learners' events, in a fixed number of statements whatever the number of learners.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction

from learners.models import ActivityEvent

MODULE_COMPLETED = ActivityEvent.Kind.MODULE_COMPLETED.value


@dataclass(frozen=True)
class Dialect:
    """The few SQL fragments that differ between PostgreSQL and SQLite.

    SQLite keeps datetimes as ISO text, so its comparisons and day counts go through
    ``julianday`` (precise to about a millisecond); PostgreSQL compares timestamps directly,
    which lets it use the (learner, occurred_at) index of the events.
    """

    postgres: bool

    def later(self, a: str, b: str) -> str:
        """SQL: ``a`` is after ``b``."""
        return f"{a} > {b}" if self.postgres else f"julianday({a}) > julianday({b})"

    def not_later(self, a: str, b: str) -> str:
        """SQL: ``a`` is at or before ``b``."""
        return f"{a} <= {b}" if self.postgres else f"julianday({a}) <= julianday({b})"

    def within_days(self, moment: str, start: str, days: str) -> str:
        """SQL: ``moment`` is at most ``days`` (an integer expression) days after ``start``."""
        if self.postgres:
            return f"{moment} <= {start} + make_interval(days => {days})"
        return f"julianday({moment}) <= julianday({start}) + {days}"

    def closed(self, start: str, days: str, moment: str) -> str:
        """SQL: ``days`` days after ``start`` is at or before ``moment``."""
        if self.postgres:
            return f"{start} + make_interval(days => {days}) <= {moment}"
        return f"julianday({start}) + {days} <= julianday({moment})"

    def listed(self, item: str, csv: str) -> str:
        """SQL: ``item`` is one of the comma-separated values in ``csv`` (spaces ignored)."""
        find = "strpos" if self.postgres else "instr"
        return f"{find}(',' || replace({csv}, ' ', '') || ',', ',' || {item} || ',') > 0"

    def whole_days(self, start: str, end: str) -> str:
        """SQL: whole days from ``start`` to a later ``end`` (an integer)."""
        if self.postgres:
            return f"floor(extract(epoch from ({end} - {start})) / 86400)::int"
        return f"cast(julianday({end}) - julianday({start}) as integer)"


def dialect() -> Dialect:
    return Dialect(postgres=connection.vendor == "postgresql")


def adapt(moment: dt.datetime) -> object:
    """A datetime as the database driver takes it (aware UTC on PostgreSQL, text on SQLite)."""
    return connection.ops.adapt_datetimefield_value(moment)


def outcome_sql(*, campaign_ids: list[int], now: dt.datetime) -> tuple[str, list[Any]]:
    """The per-enrollment outcome relation of the campaigns ``campaign_ids``, as SQL and
    parameters for a ``WITH base AS (…)``; each enrollment is judged by its own campaign's
    goal window and activity kinds.

    Columns: ``id``, ``campaign_id``, ``learner_id``, ``is_holdout``, ``status``,
    ``enrolled_at``, ``first_at`` / ``last_at`` (first and last counted activity in the window,
    NULL when none: *reactivated* is ``first_at IS NOT NULL``), ``done_at`` (first module
    completed in the window), ``window_open`` (1 while the window has not closed at ``now``)
    and ``observed_days`` (whole days of the window seen by ``now``, at most the window);
    ``react_day`` is added by :func:`with_outcomes`.
    """
    d = dialect()
    ids = ", ".join(["%s"] * len(campaign_ids)) or "NULL"
    counted = f"(c.goal_activity_kinds = '' OR {d.listed('ev.kind', 'c.goal_activity_kinds')})"
    at = adapt(now)
    # Only the events inside some window are joined (an inner join, so a learner's older
    # history costs nothing), grouped per enrollment; enrollments without any come from the
    # outer join below. Events before the first enrollment cannot count and are left out
    # before the join.
    first_enrolled = "SELECT MIN(e0.enrolled_at) FROM campaigns_enrollment e0"
    earliest = f"({first_enrolled} WHERE e0.campaign_id IN ({ids}))"
    hits = f"""
        SELECT e.id AS enrollment_id,
               MIN(CASE WHEN {counted} THEN ev.occurred_at END) AS first_at,
               MAX(CASE WHEN {counted} THEN ev.occurred_at END) AS last_at,
               MIN(CASE WHEN ev.kind = %s THEN ev.occurred_at END) AS done_at
        FROM campaigns_enrollment e
        JOIN campaigns_campaign c ON c.id = e.campaign_id
        JOIN learners_activityevent ev
          ON ev.learner_id = e.learner_id
         AND {d.later("ev.occurred_at", "e.enrolled_at")}
         AND {d.within_days("ev.occurred_at", "e.enrolled_at", "c.goal_window_days")}
        WHERE e.campaign_id IN ({ids}) AND {d.not_later("e.enrolled_at", "%s")}
          AND {d.not_later("ev.occurred_at", "%s")}
          AND {d.later("ev.occurred_at", earliest)}
        GROUP BY e.id
    """  # noqa: S608 (fixed SQL fragments only; values are parameters)
    hits_params = [MODULE_COMPLETED, *campaign_ids, at, at, *campaign_ids]
    # Survey answers in the window, for the campaigns that count them (the same inner join,
    # grouped per enrollment).
    answers = f"""
        SELECT e.id AS enrollment_id, MIN(r.created_at) AS first_at, MAX(r.created_at) AS last_at
        FROM campaigns_enrollment e
        JOIN campaigns_campaign c ON c.id = e.campaign_id AND c.survey_answer_counts
        JOIN campaigns_surveyresponse r
          ON r.learner_id = e.learner_id
         AND {d.later("r.created_at", "e.enrolled_at")}
         AND {d.within_days("r.created_at", "e.enrolled_at", "c.goal_window_days")}
        WHERE e.campaign_id IN ({ids}) AND {d.not_later("e.enrolled_at", "%s")}
          AND {d.not_later("r.created_at", "%s")}
        GROUP BY e.id
    """  # noqa: S608 (fixed SQL fragments only; values are parameters)
    answers_params = [*campaign_ids, at, at]
    first_at = _earlier(d, "h.first_at", "s.first_at")
    last_at = _later_of(d, "h.last_at", "s.last_at")
    # observed_days: whole days since enrolling, capped at the window (the last day counts
    # once the window has closed).
    elapsed = d.whole_days("e.enrolled_at", "%s")
    window = "c.goal_window_days"
    sql = f"""
        SELECT e.id, e.campaign_id, e.learner_id, e.is_holdout, e.status, e.enrolled_at,
               {first_at} AS first_at, {last_at} AS last_at, h.done_at,
               CASE WHEN {d.closed("e.enrolled_at", window, "%s")} THEN 0 ELSE 1 END
                   AS window_open,
               CASE WHEN {elapsed} > {window} THEN {window} ELSE {elapsed} END AS observed_days
        FROM campaigns_enrollment e
        JOIN campaigns_campaign c ON c.id = e.campaign_id
        LEFT JOIN ({hits}) h ON h.enrollment_id = e.id
        LEFT JOIN ({answers}) s ON s.enrollment_id = e.id
        WHERE e.campaign_id IN ({ids}) AND {d.not_later("e.enrolled_at", "%s")}
    """  # noqa: S608 (fixed SQL fragments only; values are parameters)
    return sql, [at, at, at, *hits_params, *answers_params, *campaign_ids, at]


def _earlier(d: Dialect, a: str, b: str) -> str:
    """SQL: the earlier of two moments that may each be NULL."""
    return (
        f"CASE WHEN {b} IS NULL THEN {a} WHEN {a} IS NULL OR {d.later(a, b)} THEN {b} ELSE {a} END"
    )


def _later_of(d: Dialect, a: str, b: str) -> str:
    """SQL: the later of two moments that may each be NULL."""
    return (
        f"CASE WHEN {b} IS NULL THEN {a} WHEN {a} IS NULL OR {d.later(b, a)} THEN {b} ELSE {a} END"
    )


def with_outcomes(
    *, campaign_ids: list[int], now: dt.datetime, select: str
) -> tuple[str, list[Any]]:
    """``select`` (which reads the relation ``o``) preceded by the outcome relation.

    ``o`` is materialized: a statement that reads it twice (the arms and the funnel)
    computes every outcome once.
    """
    d = dialect()
    inner, params = outcome_sql(campaign_ids=campaign_ids, now=now)
    react_day = d.whole_days("base.enrolled_at", "base.first_at")
    # Fixed fragments built here and by the callers; values are parameters.
    sql = f"""WITH base AS ({inner}),
        o AS MATERIALIZED (SELECT base.*, CASE WHEN base.first_at IS NULL THEN NULL
              ELSE {react_day} END AS react_day FROM base)
        {select}"""  # noqa: S608
    return sql, params


def fetch(sql: str, params: list[Any]) -> list[tuple[object, ...]]:
    """Run one report statement.

    On PostgreSQL with JIT off and more sort memory, for this statement only: it runs once
    over a few hundred thousand rows, where compiling it costs more than it saves (0.15 s
    measured) and the default 4 MB makes its sorts spill to disk.
    """
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL jit = off")
            cursor.execute("SET LOCAL work_mem = '64MB'")
        cursor.execute(sql, params)
        return list(cursor.fetchall())
