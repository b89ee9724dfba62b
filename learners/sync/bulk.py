"""The set-based path: COPY into a staging table, check across rows, upsert (PostgreSQL)."""

# The SQL here is built from this module's constants and column names only; every value from
# the file travels through COPY or a query parameter.
# ruff: noqa: S608

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.db import connection, transaction

from learners.erasure import suppress_erased
from learners.imports.files import ImportSummary, RowError, format_for, import_file
from learners.imports.learners import link_managers_to_learners
from learners.models import ErasedAddress
from learners.sync.rows import COLUMNS, header_of, open_csv, rows

STAGING = "learner_sync"
ERRORS = "learner_sync_errors"
# Columns a file may leave out; then the learners keep what they have.
OPTIONAL = tuple(column for column in COLUMNS if column not in ("external_id", "email"))


class _DryRun(Exception):
    pass


def _create_staging(cursor: Any) -> None:
    columns = ", ".join(
        f"{name} {'timestamptz' if name == 'last_active_at' else 'text'}" for name in COLUMNS
    )
    # Dropped first as well: an outer transaction (a test, a caller's atomic block) may still
    # hold the tables of an earlier sync in this session.
    cursor.execute(f"DROP TABLE IF EXISTS {STAGING}, {ERRORS}")
    cursor.execute(f"CREATE TEMP TABLE {STAGING} (row_number int, {columns}) ON COMMIT DROP")
    cursor.execute(f"CREATE TEMP TABLE {ERRORS} (row_number int, message text) ON COMMIT DROP")


def _copy(
    cursor: Any, path: Path, summary: ImportSummary, on_row: Callable[[], object] | None
) -> None:
    columns = ", ".join(("row_number", *COLUMNS))
    with (
        open_csv(path) as handle,
        cursor.cursor.copy(f"COPY {STAGING} ({columns}) FROM STDIN") as copy,
    ):
        for number, values, error in rows(handle):
            summary.total += 1
            if error is not None:
                summary.errors.append(error)
            else:
                copy.write_row((number, *values))  # type: ignore[misc]
            if on_row is not None:
                on_row()


# Checks that need the other rows or the stored learners, as the import makes them: the first
# row with an LMS id or an email wins, later ones are reported.
CROSS_ROW_CHECKS = (
    f"""INSERT INTO {ERRORS}
    SELECT row_number, 'external_id: LMS id ' || external_id || ' is also on row ' || first
        || ' of this file.'
    FROM (SELECT row_number, external_id,
                 min(row_number) OVER (PARTITION BY external_id) AS first FROM {STAGING}) s
    WHERE row_number <> first""",
    f"""INSERT INTO {ERRORS}
    SELECT row_number, 'email: ' || email || ' is also on row ' || first || ' of this file.'
    FROM (SELECT row_number, email,
                 min(row_number) OVER (PARTITION BY email) AS first FROM {STAGING}) s
    WHERE row_number <> first""",
    f"""INSERT INTO {ERRORS}
    SELECT s.row_number, 'email: ' || s.email || ' belongs to another learner (LMS id '
        || l.external_id || ').'
    FROM {STAGING} s JOIN learners_learner l ON l.email = s.email
    WHERE l.external_id <> s.external_id""",
)


def _cross_row_errors(cursor: Any) -> list[RowError]:
    for statement in CROSS_ROW_CHECKS:
        cursor.execute(statement)
    cursor.execute(
        f"SELECT row_number, string_agg(message, '; ' ORDER BY message) FROM {ERRORS}"
        " GROUP BY row_number"
    )
    found = [RowError(int(number), str(message)) for number, message in cursor.fetchall()]
    cursor.execute(f"DELETE FROM {STAGING} WHERE row_number IN (SELECT row_number FROM {ERRORS})")
    return found


def _managers(cursor: Any, present: tuple[str, ...], now: dt.datetime) -> None:
    if "manager_email" not in present:
        return
    name = "coalesce(manager_name, '')" if "manager_name" in present else "''"
    cursor.execute(
        f"""INSERT INTO learners_manager (email, name, time_zone, created_at)
        SELECT DISTINCT ON (manager_email) manager_email, {name}, '', %s
        FROM {STAGING} WHERE manager_email <> '' ORDER BY manager_email, row_number
        ON CONFLICT (email) DO NOTHING""",
        [now],
    )
    if "manager_name" in present:
        # The last row naming a manager gives the name, as in the row-by-row import.
        cursor.execute(
            f"""UPDATE learners_manager m SET name = s.manager_name
            FROM (SELECT DISTINCT ON (manager_email) manager_email, manager_name FROM {STAGING}
                  WHERE manager_email <> '' AND manager_name <> ''
                  ORDER BY manager_email, row_number DESC) s
            WHERE m.email = s.manager_email AND m.name <> s.manager_name"""
        )
    if "manager_time_zone" in present:
        # Like a learner's: the last row giving one wins, a blank keeps what the manager has.
        cursor.execute(
            f"""UPDATE learners_manager m SET time_zone = s.manager_time_zone
            FROM (SELECT DISTINCT ON (manager_email) manager_email, manager_time_zone
                  FROM {STAGING} WHERE manager_email <> '' AND manager_time_zone <> ''
                  ORDER BY manager_email, row_number DESC) s
            WHERE m.email = s.manager_email AND m.time_zone <> s.manager_time_zone"""
        )


def _new_values(present: tuple[str, ...]) -> dict[str, str]:
    """Column → the value a synced learner gets (``l`` is the stored row, ``s`` the file's)."""
    values = {"email": "s.email"}
    for column in ("first_name", "last_name", "role", "team"):
        if column in present:
            values[column] = f"coalesce(s.{column}, '')"
    if "manager_email" in present:
        values["manager_id"] = "m.id"
    for column in ("time_zone", "locale", "phone"):
        if column in present:
            # Blank keeps what the learner has: the LMS simply did not export it.
            values[column] = f"coalesce(nullif(s.{column}, ''), l.{column})"
    if "last_active_at" in present:
        # GREATEST skips NULL: a blank never erases activity, an older date never moves it back.
        values["last_active_at"] = "greatest(l.last_active_at, s.last_active_at)"
    return values


def _update(cursor: Any, present: tuple[str, ...], now: dt.datetime) -> int:
    values = _new_values(present)
    assignments = ", ".join(f"{column} = {value}" for column, value in values.items())
    stored = ", ".join(f"l.{column}" for column in values)
    new = ", ".join(values.values())
    cursor.execute(
        f"""UPDATE learners_learner l SET {assignments}, updated_at = %s
        FROM {STAGING} s LEFT JOIN learners_manager m ON m.email = nullif(s.manager_email, '')
        WHERE l.external_id = s.external_id AND ({stored}) IS DISTINCT FROM ({new})""",
        [now],
    )
    return int(cursor.rowcount)


def _insert(cursor: Any, present: tuple[str, ...], now: dt.datetime) -> int:
    def given(column: str, default: str) -> str:
        if column not in present:
            return default
        return f"coalesce(nullif(s.{column}, ''), {default})"

    texts = ", ".join(
        f"coalesce(s.{c}, '')" if c in present else "''"
        for c in ("first_name", "last_name", "role", "team")
    )
    manager = "m.id" if "manager_email" in present else "NULL"
    active = "s.last_active_at" if "last_active_at" in present else "NULL"
    phone = "coalesce(s.phone, '')" if "phone" in present else "''"
    cursor.execute(
        f"""INSERT INTO learners_learner (external_id, email, first_name, last_name, role, team,
            manager_id, time_zone, locale, phone, last_active_at, suppression_reason,
            created_at, updated_at)
        SELECT s.external_id, s.email, {texts}, {manager}, {given("time_zone", "'UTC'")},
            {given("locale", "'en'")}, {phone}, {active}, '', %s, %s
        FROM {STAGING} s LEFT JOIN learners_manager m ON m.email = nullif(s.manager_email, '')
        WHERE NOT EXISTS (SELECT 1 FROM learners_learner l WHERE l.external_id = s.external_id)""",
        [now, now],
    )
    return int(cursor.rowcount)


def _suppress_erased(cursor: Any, present: tuple[str, ...], now: dt.datetime) -> None:
    """Learners and managers whose address was erased are created (or stay) suppressed."""
    if not ErasedAddress.objects.exists():
        return
    managers = f" UNION SELECT manager_email FROM {STAGING}" if "manager_email" in present else ""
    cursor.execute(f"SELECT email FROM {STAGING}{managers}")
    suppress_erased(emails=[row[0] for row in cursor.fetchall() if row[0]], now=now)


def sync_learners(
    *,
    path: Path,
    now: dt.datetime,
    dry_run: bool = False,
    on_row: Callable[[], object] | None = None,
) -> ImportSummary:
    """Apply a full learners CSV on PostgreSQL; the summary counts and lists what happened.

    Rows are checked one by one as they are copied into the staging table, then across rows
    (an LMS id or email twice in the file, an email that is another learner's); bad rows are
    reported by number, the good ones are applied. With ``dry_run`` all of it runs and is
    rolled back. ``UnreadableFile`` when the file cannot be read at all.
    """
    present = header_of(path).present
    summary = ImportSummary(kind="learners", dry_run=dry_run)
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            _create_staging(cursor)
            _copy(cursor, path, summary, on_row)
            cursor.execute(f"ANALYZE {STAGING}")
            summary.errors += _cross_row_errors(cursor)
            _managers(cursor, present, now)
            summary.updated = _update(cursor, present, now)
            summary.created = _insert(cursor, present, now)
            link_managers_to_learners()
            _suppress_erased(cursor, present, now)
            cursor.execute(f"DROP TABLE {STAGING}, {ERRORS}")
            if dry_run:
                raise _DryRun
    except _DryRun:
        pass
    if not dry_run and summary.created + summary.updated:
        with connection.cursor() as cursor:
            # Later queries plan against the new size of the table (see ARCHITECTURE.md).
            cursor.execute("ANALYZE learners_learner, learners_manager")
    summary.errors.sort(key=lambda error: error.row)
    summary.unchanged = summary.total - len(summary.errors) - summary.created - summary.updated
    return summary


def sync_file(
    *, path: Path, now: dt.datetime, file_format: str | None = None, dry_run: bool = False
) -> ImportSummary:
    """The set-based sync for a CSV on PostgreSQL; the row-by-row import otherwise (XLSX,
    SQLite), with the same rules and the same summary."""
    if connection.vendor == "postgresql" and format_for(path, file_format) == "csv":
        return sync_learners(path=path, now=now, dry_run=dry_run)
    return import_file(
        kind="learners", path=path, now=now, file_format=file_format, dry_run=dry_run
    )
