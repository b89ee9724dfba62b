"""PostgreSQL planner statistics, refreshed after a pass writes many rows.

A pass that launches a campaign adds hundreds of thousands of enrollments and sends in one
transaction. Until the statistics catch up (autovacuum looks once a minute, and not at all
where it is turned off) the planner believes those tables are nearly empty. It then claims each
delivery batch by scanning every queued send of the campaign instead of looking up 200 ids:
on a million learners a claim took 37 ms instead of 2 ms, and delivery ran about a fifth
slower for it. So the pass refreshes them itself, on the rule autovacuum uses, before the
sends are handed to delivery.
"""

from __future__ import annotations

from collections.abc import Mapping

from django.db import connection
from django.db.models import Model

# Like autovacuum_analyze_scale_factor: refresh once the rows written exceed this share of the
# rows the planner believes the table has …
SHARE_OF_TABLE = 0.1
# … and a floor, so a small table is not analyzed on every pass.
MIN_ROWS = 1_000


def refresh_after_bulk_write(written: Mapping[type[Model], int]) -> list[str]:
    """``ANALYZE`` each table whose rows written (``written``: model → rows) exceed a tenth of
    what the planner believes it holds, and at least :data:`MIN_ROWS`. Returns the tables
    analyzed. Only PostgreSQL is concerned: SQLite plans without collected statistics."""
    if connection.vendor != "postgresql":
        return []
    tables = {model._meta.db_table: rows for model, rows in written.items() if rows >= MIN_ROWS}
    if not tables:
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname, reltuples FROM pg_class WHERE oid = ANY(CAST(%s AS regclass[]))",
            [list(tables)],
        )
        # reltuples is -1 for a table never analyzed.
        believed = {str(name): max(float(rows), 0.0) for name, rows in cursor.fetchall()}
        stale = [
            table
            for table, rows in tables.items()
            if rows > SHARE_OF_TABLE * believed.get(table, 0.0)
        ]
        for table in stale:
            cursor.execute(f"ANALYZE {connection.ops.quote_name(table)}")
    return stale
