"""The benchmark's own PostgreSQL database: created, reset and dropped over a connection to the
``postgres`` database, so the harness never touches ``test`` or a developer's data."""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from typing import LiteralString
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql

# Another name than the suite's ``test`` database, so a benchmark never clobbers a test run.
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/bench"

# Tables the engine writes to. Reset between runs on a reused database; the learner data stays.
CAMPAIGN_TABLES = (
    "campaigns_digestcheckin",
    "campaigns_managerdigest",
    "campaigns_digestsettings",
    "campaigns_surveyresponse",
    "campaigns_send",
    "campaigns_enrollment",
    "campaigns_variant",
    "campaigns_step",
    "campaigns_campaign",
    "campaigns_segment",
    "campaigns_incentive",
    "campaigns_passlock",
)


def bench_url() -> str:
    return os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)


def conninfo(url: str) -> str:
    """A libpq URL (psycopg does not take Django's ``postgres://`` alias for every scheme)."""
    parts = urlsplit(url)
    return urlunsplit(("postgresql", *parts[1:]))


def database_name(url: str) -> str:
    name = urlsplit(url).path.lstrip("/")
    if not name or name in {"postgres", "test", "template0", "template1"}:
        raise SystemExit(f"refusing to use {name!r} as the benchmark database")
    return name


def admin_conninfo(url: str) -> str:
    parts = urlsplit(conninfo(url))
    return urlunsplit((parts.scheme, parts.netloc, "/postgres", parts.query, ""))


def connect(url: str, *, autocommit: bool = True) -> psycopg.Connection[tuple[object, ...]]:
    return psycopg.connect(conninfo(url), autocommit=autocommit)


def exists(url: str) -> bool:
    with psycopg.connect(admin_conninfo(url), autocommit=True) as conn:
        row = conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [database_name(url)]
        ).fetchone()
    return row is not None


def drop(url: str) -> None:
    name = database_name(url)
    with psycopg.connect(admin_conninfo(url), autocommit=True) as conn:
        # WITH (FORCE): a worker left over from an interrupted run must not keep the name taken.
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


def create(url: str) -> None:
    name = database_name(url)
    with psycopg.connect(admin_conninfo(url), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def server_version(url: str) -> str:
    with connect(url) as conn:
        row = conn.execute("SHOW server_version").fetchone()
    return str(row[0]) if row else "?"


def scalar(url: str, query: LiteralString, params: Sequence[object] = ()) -> int:
    with connect(url) as conn:
        row = conn.execute(query, params).fetchone()
    return int(str(row[0])) if row and row[0] is not None else 0


def cancel_queries(url: str) -> None:
    """Stop what a killed child left running: PostgreSQL does not notice a client gone
    mid-statement, and a runaway INSERT would skew every later figure."""
    with psycopg.connect(admin_conninfo(url), autocommit=True) as conn:
        conn.execute(
            "SELECT pg_cancel_backend(pid) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid() AND state <> 'idle'",
            [database_name(url)],
        )


def commit_latency_ms(url: str, commits: int = 200) -> float:
    """The time one small committed write takes: what every per-row ``save()`` pays."""
    with connect(url) as conn:
        conn.execute("CREATE TABLE bench_commit_probe (x int)")
        try:
            started = time.perf_counter()
            for _ in range(commits):
                conn.execute("INSERT INTO bench_commit_probe VALUES (1)")
            return (time.perf_counter() - started) / commits * 1000
        finally:
            conn.execute("DROP TABLE bench_commit_probe")


def vacuum_analyze(url: str, tables: tuple[str, ...] = ()) -> None:
    """Settle the statistics (and hint bits) the way a database in service has them: a plan
    chosen against stale statistics is a benchmark of the statistics, not of the engine."""
    with connect(url) as conn:
        if not tables:
            conn.execute("VACUUM (ANALYZE)")
        for table in tables:
            conn.execute(sql.SQL("VACUUM (ANALYZE) {}").format(sql.Identifier(table)))


def reset_campaigns(url: str) -> None:
    """Empty every campaign table of a reused database; learners, courses and progress stay."""
    with connect(url) as conn:
        conn.execute(
            sql.SQL("TRUNCATE {} RESTART IDENTITY CASCADE").format(
                sql.SQL(", ").join(sql.Identifier(t) for t in CAMPAIGN_TABLES)
            )
        )
        # The engine may have sunset or otherwise marked learners in an earlier run.
        conn.execute("UPDATE learners_learner SET sunset_at = NULL WHERE sunset_at IS NOT NULL")
    vacuum_analyze(url, ("learners_learner", *CAMPAIGN_TABLES))
