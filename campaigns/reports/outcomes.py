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
outer-joined to every enrollment), in a fixed number of statements whatever the number of
learners.

Joining every enrollment to its learner's events at every look is most of a report's cost, so
after each pass :mod:`campaigns.engine.outcomes` records each enrollment's activity part
(``Enrollment.outcome_*``, by :func:`activity_sql`, the same definition) from the events up to
the campaign's ``outcomes_event_id``. The relation then reads a recorded outcome and joins only
the events that came after it; an enrollment not recorded yet, one recorded with another goal
window or other activity kinds than the campaign's now, and one whose recorded last activity is
later than ``now`` (a report for an earlier moment) are computed from every event, as if
nothing were recorded. The figures are the same either way; only the cost differs.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from functools import reduce
from operator import or_
from typing import Any

from django.db import connection, transaction
from django.db.models import Min, Q

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

    def earliest(self, *moments: str) -> str:
        """SQL: the earliest of ``moments``, any of which may be NULL (NULL when all are)."""
        if self.postgres:
            return f"LEAST({', '.join(moments)})"  # PostgreSQL's LEAST ignores NULLs
        result = moments[0]
        for b in moments[1:]:
            a = result
            result = (
                f"CASE WHEN {b} IS NULL THEN {a} WHEN {a} IS NULL OR {self.later(a, b)} "
                f"THEN {b} ELSE {a} END"
            )
        return result

    def latest(self, *moments: str) -> str:
        """SQL: the latest of ``moments``, any of which may be NULL (NULL when all are)."""
        if self.postgres:
            return f"GREATEST({', '.join(moments)})"
        result = moments[0]
        for b in moments[1:]:
            a = result
            result = (
                f"CASE WHEN {b} IS NULL THEN {a} WHEN {a} IS NULL OR {self.later(b, a)} "
                f"THEN {b} ELSE {a} END"
            )
        return result

    def rows_relation(self, rows: list[tuple[object, ...]]) -> tuple[str, list[Any]]:
        """SQL and its one parameter: ``rows`` of (``enrollment_id``, ``first_at``,
        ``last_at``, ``done_at``) as a relation, from one JSON document."""
        document = json.dumps(
            [
                {"id": r[0], "first": _text(r[1]), "last": _text(r[2]), "done": _text(r[3])}
                for r in rows
            ]
        )
        if self.postgres:
            return (
                "SELECT id AS enrollment_id, first AS first_at, last AS last_at, "
                "done AS done_at FROM json_to_recordset(%s::json) AS j(id bigint, "
                "first timestamptz, last timestamptz, done timestamptz)",
                [document],
            )
        return (
            "SELECT json_extract(j.value, '$.id') AS enrollment_id, "
            "json_extract(j.value, '$.first') AS first_at, "
            "json_extract(j.value, '$.last') AS last_at, "
            "json_extract(j.value, '$.done') AS done_at FROM json_each(%s) j",
            [document],
        )

    def whole_days(self, start: str, end: str) -> str:
        """SQL: whole days from ``start`` to a later ``end`` (an integer)."""
        if self.postgres:
            return f"floor(extract(epoch from ({end} - {start})) / 86400)::int"
        return f"cast(julianday({end}) - julianday({start}) as integer)"


def _text(moment: object) -> str | None:
    """A moment read from the database, as the same database reads it back from JSON."""
    if moment is None:
        return None
    if isinstance(moment, dt.datetime):
        return moment.isoformat()
    return str(moment)


def dialect() -> Dialect:
    return Dialect(postgres=connection.vendor == "postgresql")


def adapt(moment: dt.datetime) -> object:
    """A datetime as the database driver takes it (aware UTC on PostgreSQL, text on SQLite)."""
    return connection.ops.adapt_datetimefield_value(moment)


def counted_sql(kinds: str, kind: str = "ev.kind") -> str:
    """SQL: an event of kind ``kind`` counts as coming back, ``kinds`` being the SQL of the
    campaign's comma-separated list (empty: any kind)."""
    d = dialect()
    return f"({kinds} = '' OR {d.listed(kind, kinds)})"


def activity_sql(*, kinds: str, kind: str = "ev.kind", moment: str = "ev.occurred_at") -> str:
    """The three activity columns of an enrollment over the events in its window (see
    :func:`in_window_sql`; ``kind`` and ``moment`` are their columns), for a ``GROUP BY`` the
    enrollment: ``first_at`` / ``last_at`` (first and last counted activity) and ``done_at``
    (first module completed). ``kinds`` is SQL (a column or a placeholder); the module's kind
    is a placeholder after it."""
    counted = counted_sql(kinds, kind)
    return f"""
        MIN(CASE WHEN {counted} THEN {moment} END) AS first_at,
        MAX(CASE WHEN {counted} THEN {moment} END) AS last_at,
        MIN(CASE WHEN {kind} = %s THEN {moment} END) AS done_at"""


def in_window_sql(*, window: str) -> str:
    """SQL: the event ``ev`` is the enrollment ``e``'s learner's, after enrolling and at most
    ``window`` (SQL) days after."""
    d = dialect()
    return (
        f"ev.learner_id = e.learner_id AND {d.later('ev.occurred_at', 'e.enrolled_at')} "
        f"AND {d.within_days('ev.occurred_at', 'e.enrolled_at', window)}"
    )


def _fresh_sql(current: dict[int, int], at: object) -> tuple[str, list[Any]]:
    """SQL and parameters: the enrollment ``e`` has a recorded outcome that holds at ``at``:
    its campaign's recording (``current``: campaign → last enrollment id it covers, for the
    campaigns recorded with their present goal window and kinds) covers it, and it has no
    recorded activity after ``at`` (a last activity is a maximum: one after the moment hides
    whether there was one before it). Only constants against columns of ``e``, so the
    planner sees how many rows it selects before it joins any event."""
    if not current:
        return "(1 = 0)", []
    d = dialect()
    covered = " OR ".join(["(e.campaign_id = %s AND e.id <= %s)"] * len(current))
    no_later = d.not_later("e.outcome_last_at", "%s")
    sql = f"(({covered}) AND (e.outcome_last_at IS NULL OR {no_later}))"
    return sql, [*(v for pair in sorted(current.items()) for v in pair), at]


def _unfresh_sql(
    campaign_ids: list[int], current: dict[int, int], at: object
) -> tuple[str, list[Any]]:
    """SQL and parameters: the enrollment ``e`` (of one of ``campaign_ids``) has no recorded
    outcome that holds at ``at``: the complement of :func:`_fresh_sql`, spelled out rather
    than negated for the same reason."""
    d = dialect()
    terms = [d.later("e.outcome_last_at", "%s")]
    params: list[Any] = [at]
    stale = [pk for pk in campaign_ids if pk not in current]
    if stale:
        terms.append(f"e.campaign_id IN ({', '.join(['%s'] * len(stale))})")
        params += stale
    for pk, covered in sorted(current.items()):
        terms.append("(e.campaign_id = %s AND e.id > %s)")
        params += [pk, covered]
    return f"({' OR '.join(terms)})", params


@dataclass(frozen=True)
class Recording:
    """What the campaigns' recorded outcomes cover, read before a report."""

    answers: bool  # some campaign counts a survey answer as coming back
    recorded: bool  # every enrollment's outcome is recorded with the campaign's definition
    event_floor: int  # the lowest ``outcomes_event_id`` among the campaigns
    # The campaigns recorded with their present goal window and kinds → the last enrollment
    # id their recording covers.
    current: dict[int, int]
    first_enrolled: dt.datetime | None  # the earliest enrollment of the campaigns


def recording(campaign_ids: list[int]) -> Recording:
    """Three small lookups: the campaigns' recording state, any enrollment it does not cover
    yet, and the first enrollment (no event before it can count)."""
    from campaigns.models import Campaign, Enrollment

    rows = list(
        Campaign.objects.filter(pk__in=campaign_ids).values_list(
            "pk",
            "survey_answer_counts",
            "outcomes_event_id",
            "outcomes_enrollment_id",
            "outcomes_window_days",
            "goal_window_days",
            "outcomes_activity_kinds",
            "goal_activity_kinds",
        )
    )
    current = {int(r[0]): int(r[3]) for r in rows if r[4] == r[5] and r[6] == r[7]}
    beyond = [Q(campaign_id=pk, pk__gt=covered) for pk, covered in current.items()]
    uncovered = bool(beyond) and Enrollment.objects.filter(reduce(or_, beyond)).exists()
    return Recording(
        answers=any(r[1] for r in rows),
        recorded=len(current) == len(rows) and not uncovered,
        event_floor=min((int(r[2]) for r in rows), default=0),
        current=current,
        first_enrolled=Enrollment.objects.filter(campaign_id__in=campaign_ids).aggregate(
            first=Min("enrolled_at")
        )["first"],
    )


def later_activity_sql(
    *, campaign_ids: list[int], now: dt.datetime, state: Recording
) -> tuple[str, list[Any]]:
    """The activity not in the recorded outcomes, as SQL and parameters: one row per
    enrollment that has some (``enrollment_id``, ``first_at``, ``last_at``, ``done_at``, as
    :func:`activity_sql`), from the events after the recording for an outcome that holds at
    ``now``, and from every event for the others."""
    d = dialect()
    ids = ", ".join(["%s"] * len(campaign_ids)) or "NULL"
    at = adapt(now)
    fresh, fresh_params = _fresh_sql(state.current, at)
    unfresh, unfresh_params = _unfresh_sql(campaign_ids, state.current, at)
    first = adapt(state.first_enrolled or now)
    # Only the events inside some window are joined (an inner join, so a learner's older
    # history costs nothing), then grouped per enrollment. Events before the first
    # enrollment cannot count and are left out before the join. The two sets of events are
    # disjoint, and grouped once over both, so the planner knows there is one row per
    # enrollment.
    joined = in_window_sql(window="c.goal_window_days")

    def events(scope: str) -> str:
        return f"""
            SELECT e.id AS enrollment_id, ev.kind, ev.occurred_at,
                   c.goal_activity_kinds AS kinds
            FROM campaigns_enrollment e
            JOIN campaigns_campaign c ON c.id = e.campaign_id
            JOIN learners_activityevent ev ON {joined}
            WHERE e.campaign_id IN ({ids}) AND {d.not_later("e.enrolled_at", "%s")}
              AND {d.not_later("ev.occurred_at", "%s")}
              AND {d.later("ev.occurred_at", "%s")} AND {scope}
        """  # noqa: S608 (fixed SQL fragments only; values are parameters)

    def events_params(scope_params: list[Any]) -> list[Any]:
        return [*campaign_ids, at, at, first, *scope_params]

    after = f"{fresh} AND ev.id > c.outcomes_event_id AND ev.id > %s"
    columns = activity_sql(kinds="u.kinds", kind="u.kind", moment="u.occurred_at")
    sql = f"""
        SELECT u.enrollment_id, {columns}
        FROM ({events(after)} UNION ALL {events(unfresh)}) u
        GROUP BY u.enrollment_id
    """  # noqa: S608 (fixed SQL fragments only; values are parameters)
    params = [
        MODULE_COMPLETED,
        *events_params([*fresh_params, state.event_floor]),
        *events_params(unfresh_params),
    ]
    return sql, params


def outcome_sql(
    *,
    campaign_ids: list[int],
    now: dt.datetime,
    state: Recording,
    later: tuple[str, list[Any]],
) -> tuple[str, list[Any]]:
    """The per-enrollment outcome relation of the campaigns ``campaign_ids``, as SQL and
    parameters for a ``WITH base AS (…)``; each enrollment is judged by its own campaign's
    goal window and activity kinds.

    Columns: ``id``, ``campaign_id``, ``learner_id``, ``is_holdout``, ``status``,
    ``enrolled_at``, ``first_at`` / ``last_at`` (first and last counted activity in the window,
    NULL when none: *reactivated* is ``first_at IS NOT NULL``), ``done_at`` (first module
    completed in the window), ``window_open`` (1 while the window has not closed at ``now``)
    and ``observed_days`` (whole days of the window seen by ``now``, at most the window);
    ``react_day`` is added by :func:`read`. ``later`` is the relation of the activity not
    in the recorded outcomes (see :func:`later_activity_sql`), as SQL and parameters.
    """
    d = dialect()
    ids = ", ".join(["%s"] * len(campaign_ids)) or "NULL"
    at = adapt(now)
    fresh, fresh_params = _fresh_sql(state.current, at)
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
    answers_params = [*campaign_ids, at, at] if state.answers else []
    # observed_days: whole days since enrolling, capped at the window (the last day counts
    # once the window has closed).
    elapsed = d.whole_days("e.enrolled_at", "%s")
    window = "c.goal_window_days"
    answer_columns, answers_join = "", ""
    if state.answers:
        answer_columns = "s.first_at AS s_first, s.last_at AS s_last,"
        answers_join = f"LEFT JOIN ({answers}) s ON s.enrollment_id = e.id"
    # The recorded first activity and module are minimums: one after ``now`` means none
    # before it. The inner select names each part once, so the outer one can combine them
    # without repeating a placeholder.
    parts_sql = f"""
        SELECT e.id, e.campaign_id, e.learner_id, e.is_holdout, e.status, e.enrolled_at,
               CASE WHEN {fresh} THEN 1 ELSE 0 END AS fresh,
               e.outcome_first_at, e.outcome_last_at,
               CASE WHEN {d.not_later("e.outcome_done_at", "%s")} THEN e.outcome_done_at END
                   AS outcome_done_at,
               h.first_at AS h_first, h.last_at AS h_last, h.done_at AS h_done, {answer_columns}
               CASE WHEN {d.closed("e.enrolled_at", window, "%s")} THEN 0 ELSE 1 END
                   AS window_open,
               CASE WHEN {elapsed} > {window} THEN {window} ELSE {elapsed} END AS observed_days
        FROM campaigns_enrollment e
        JOIN campaigns_campaign c ON c.id = e.campaign_id
        LEFT JOIN ({later[0]}) h ON h.enrollment_id = e.id
        {answers_join}
        WHERE e.campaign_id IN ({ids}) AND {d.not_later("e.enrolled_at", "%s")}
    """  # noqa: S608 (fixed SQL fragments only; values are parameters)
    firsts = ["CASE WHEN x.fresh = 1 THEN x.outcome_first_at END", "x.h_first"]
    lasts = ["CASE WHEN x.fresh = 1 THEN x.outcome_last_at END", "x.h_last"]
    if state.answers:
        firsts.append("x.s_first")
        lasts.append("x.s_last")
    done = d.earliest("CASE WHEN x.fresh = 1 THEN x.outcome_done_at END", "x.h_done")
    sql = f"""
        SELECT x.id, x.campaign_id, x.learner_id, x.is_holdout, x.status, x.enrolled_at,
               {d.earliest(*firsts)} AS first_at, {d.latest(*lasts)} AS last_at,
               {done} AS done_at, x.window_open, x.observed_days
        FROM ({parts_sql}) x
    """  # noqa: S608 (fixed SQL fragments only; values are parameters)
    # fresh, the recorded module, window_open, observed_days (twice); then the joins.
    head = [*fresh_params, at, at, at, at]
    return sql, [*head, *later[1], *answers_params, *campaign_ids, at]


# At most this many enrollments' later activity is handed to the report statement as a value
# (a few passes' worth); more means the recording is behind, and it is joined in the statement.
LATER_AS_VALUE_MAX = 20_000


def read(
    *, campaign_ids: list[int], now: dt.datetime, select: str, select_params: list[Any]
) -> list[tuple[object, ...]]:
    """The rows of ``select`` (which reads the relation ``o``, the outcome relation with a
    ``react_day`` column added; its parameters ``select_params``) for the campaigns
    ``campaign_ids`` at ``now``.

    Once the outcomes are recorded, the activity since the recording is first read on its own
    (a few rows) and handed to the report statement as a value: the statement then joins no
    event, and the planner, seeing the enrollments' own statistics, can split the join of a
    million sends across workers. ``o`` is inlined, each reading joining its enrollments.
    While outcomes are still to be computed from every event (never recorded, the recording
    behind, another goal window, a report for a past moment), that activity is joined in the
    statement and ``o`` is materialized, so reading it twice computes it once.
    All in one transaction, on PostgreSQL with one snapshot for every statement.
    """
    d = dialect()
    with transaction.atomic():
        if d.postgres and not _in_outer_transaction():
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        state = recording(campaign_ids)
        later = later_activity_sql(campaign_ids=campaign_ids, now=now, state=state)
        inline = False
        if state.recorded:
            rows = fetch(f"{later[0]} LIMIT {LATER_AS_VALUE_MAX + 1}", later[1])
            if len(rows) <= LATER_AS_VALUE_MAX:
                later, inline = d.rows_relation(rows), True
        inner, params = outcome_sql(campaign_ids=campaign_ids, now=now, state=state, later=later)
        react_day = d.whole_days("base.enrolled_at", "base.first_at")
        materialized = "NOT MATERIALIZED" if inline else "MATERIALIZED"
        # Fixed fragments built here and by the callers; values are parameters.
        sql = f"""WITH base AS ({inner}),
            o AS {materialized} (SELECT base.*, CASE WHEN base.first_at IS NULL THEN NULL
                  ELSE {react_day} END AS react_day FROM base)
            {select}"""  # noqa: S608
        return fetch(sql, [*params, *select_params])


def _in_outer_transaction() -> bool:
    """True inside a transaction opened before :func:`read` (its snapshot is the caller's)."""
    return len(connection.atomic_blocks) > 1


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
