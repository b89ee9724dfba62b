"""The raw SQL the pass is built from: table names, statement helpers, and the CASE rules
that decide how a new send starts."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connection

from campaigns.models import Enrollment, ManagerDigest, Send
from learners.models import Learner

ENROLLMENT = Enrollment._meta.db_table
SEND = Send._meta.db_table
DIGEST = ManagerDigest._meta.db_table
LEARNER = Learner._meta.db_table
MANAGER = Learner._meta.get_field("manager").related_model._meta.db_table  # type: ignore[union-attr]


def execute(sql: str, params: Sequence[Any]) -> int:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return max(cursor.rowcount, 0)


def fetch_ids(sql: str, params: Sequence[Any]) -> list[int]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [row[0] for row in cursor.fetchall()]


@contextlib.contextmanager
def without_nested_loops(cursor: Any) -> Iterator[None]:
    """On PostgreSQL, keep the planner off nested loops for one statement.

    The enrollment INSERT reads the table it fills (NOT EXISTS). When the planner believes
    that table empty (the first pass, or statistics from before a bulk load) it picks a nested
    loop with a sequential scan of it per learner, and every scan grows with each inserted row:
    minutes instead of seconds at 200,000 new enrollments. A hash anti-join reads it once.
    """
    if connection.vendor != "postgresql":
        yield
        return
    cursor.execute("SELECT set_config('enable_nestloop', 'off', true)")
    try:
        yield
    finally:
        cursor.execute("SELECT set_config('enable_nestloop', 'on', true)")


@contextlib.contextmanager
def without_jit(cursor: Any) -> Iterator[None]:
    """On PostgreSQL, no JIT compilation for one statement.

    The digest INSERT joins a per-manager aggregate the planner cannot know is unique per
    manager; it overestimates the rows by orders of magnitude and, past
    ``jit_optimize_above_cost``, spends seconds inlining and optimizing sixty functions for a
    statement that runs once, which took its time from 2.8 s to 6 s at 100,000 managers.
    """
    if connection.vendor != "postgresql":
        yield
        return
    cursor.execute("SELECT current_setting('jit')")
    (before,) = cursor.fetchone()
    cursor.execute("SELECT set_config('jit', 'off', true)")
    try:
        yield
    finally:
        cursor.execute("SELECT set_config('jit', %s, true)", [before])


@dataclass(frozen=True)
class Rule:
    """One branch of how a new send starts: the first rule whose condition holds decides its
    status (and why); a send no rule catches is ``queued`` (or ``scheduled``)."""

    condition: str
    params: tuple[Any, ...]
    status: str
    skip_reason: str = ""
    postponed_reason: str = ""
    # A new due time (quiet hours); None keeps the step's due time.
    due_at: dt.datetime | None = None


def case_sql(
    rules: Sequence[Rule], then: Any, default_sql: str, default_params: Sequence[Any]
) -> tuple[str, list[Any]]:
    """``CASE WHEN rule THEN … ELSE default END``; ``then(rule)`` gives each branch's
    (sql, params)."""
    sql, params = ["CASE"], []
    for rule in rules:
        branch_sql, branch_params = then(rule)
        sql.append(f"WHEN {rule.condition} THEN {branch_sql}")
        params += [*rule.params, *branch_params]
    sql.append(f"ELSE {default_sql} END")
    return " ".join(sql), [*params, *default_params]
