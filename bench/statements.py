"""What a pass says to the database: each distinct statement, how often and how long it ran,
and (optionally) the plan PostgreSQL chose for it at that moment.

The plan is taken with ``EXPLAIN`` (no ANALYZE) just before the statement's first run, so it is
the plan of the database as the pass saw it (an enrollment table still empty, say), not as it
is afterwards. Planning twice costs milliseconds; that time is kept apart and left out of the
pass's figure.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

EXPLAINABLE = ("select", "insert", "update", "delete", "with")


@dataclass
class Statement:
    sql: str
    calls: int = 0
    seconds: float = 0.0
    plan: str = ""


@dataclass
class StatementLog:
    explain: bool = False
    # Plans are also appended here as they are taken: a pass stopped for running too long
    # leaves the plan of the statement it was stuck in.
    plan_file: Path | None = None
    statements: dict[str, Statement] = field(default_factory=dict)
    explain_seconds: float = 0.0

    @property
    def calls(self) -> int:
        return sum(s.calls for s in self.statements.values())

    def __call__(
        self, execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any
    ) -> Any:
        entry = self.statements.get(sql)
        if entry is None:
            entry = self.statements[sql] = Statement(sql=sql)
            if self.explain and not many and sql.lstrip().lower().startswith(EXPLAINABLE):
                t0 = time.perf_counter()
                entry.plan = _plan(context["connection"].connection, sql, params)
                self.explain_seconds += time.perf_counter() - t0
                if self.plan_file is not None:
                    with self.plan_file.open("a") as out:
                        out.write(f"```sql\n{sql.strip()}\n```\n```\n{entry.plan}\n```\n\n")
        t0 = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            entry.calls += 1
            entry.seconds += time.perf_counter() - t0

    def top(self, n: int) -> list[Statement]:
        return sorted(self.statements.values(), key=lambda s: s.seconds, reverse=True)[:n]


def _plan(raw: Any, sql: str, params: Any) -> str:
    """The plan, or why there is none; never disturbs the caller's transaction."""
    in_transaction = not raw.autocommit
    try:
        with raw.cursor() as cur:
            if in_transaction:
                cur.execute("SAVEPOINT bench_explain")
            try:
                cur.execute("EXPLAIN " + sql, params)
                plan = "\n".join(str(row[0]) for row in cur.fetchall())
            except Exception as exc:
                if in_transaction:
                    cur.execute("ROLLBACK TO SAVEPOINT bench_explain")
                return f"(no plan: {exc})"
            if in_transaction:
                cur.execute("RELEASE SAVEPOINT bench_explain")
            return plan
    except Exception as exc:
        return f"(no plan: {exc})"
