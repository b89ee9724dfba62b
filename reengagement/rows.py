"""Writing many rows in one statement: different values per row and, where asked, compare-and-set
on each row's status (:func:`update_rows`), or inserting many rows skipping those a unique
constraint already holds (:func:`insert_new`). Delivery records its batches with them, feedback
its ESP events, and the learners' contactability its batches of suppressions.

On PostgreSQL the rows travel as one JSON document read by ``json_to_recordset``: dumping a
parameter array per column element by element, and Django's per-value ``get_db_prep_save``,
cost more than the statement itself.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from django.db import connection, models
from django.utils.functional import Promise


def _json_value(value: Any) -> Any:
    """What ``json.dumps`` cannot write itself, as PostgreSQL reads it back into the column."""
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, Decimal | uuid.UUID | Promise):
        return str(value)
    raise TypeError(f"cannot write {type(value).__name__} as a JSON record value")


def _records(rows: Sequence[models.Model], columns: Sequence[models.Field[Any, Any]]) -> str:
    """The rows' primary keys and ``columns`` as a JSON array of objects ``{"id", "c0", …}``;
    a JSON column's value is nested as it is."""
    names = [(f"c{i}", column.attname) for i, column in enumerate(columns)]
    return json.dumps(
        [{"id": row.pk, **{key: getattr(row, attname) for key, attname in names}} for row in rows],
        default=_json_value,
        ensure_ascii=False,
    )


def _recordset(columns: Sequence[models.Field[Any, Any]]) -> str:
    """SQL: the JSON document (one parameter) as a relation ``v(id, c0, c1, …)``."""
    types = [
        "id bigint",
        *(f"c{i} {column.db_type(connection)}" for i, column in enumerate(columns)),
    ]
    return f"json_to_recordset(CAST(%s AS json)) AS v({', '.join(types)})"


def update_rows(
    rows: Sequence[models.Model],
    fields: Sequence[str],
    *,
    only_if_status: Sequence[str] = (),
) -> set[int]:
    """Write ``fields`` of each row (all of one model, by primary key); with ``only_if_status``,
    compare-and-set on its status. Returns the ids of the rows written (a row whose status
    moved on meanwhile is left alone).

    Django's ``bulk_update`` builds a CASE per field in Python, which cost more than sending
    the emails. PostgreSQL gets one ``UPDATE … FROM json_to_recordset(…) … RETURNING id``,
    SQLite one ``UPDATE … FROM (VALUES …) … RETURNING id``.
    """
    if not rows or not fields:
        return set()
    meta = type(rows[0])._meta
    columns: list[models.Field[Any, Any]] = []
    for name in fields:
        column = meta.get_field(name)
        assert isinstance(column, models.Field)
        columns.append(column)
    table, pk = meta.db_table, meta.pk.column if meta.pk else "id"
    assignments = ", ".join(f"{column.column} = v.c{i}" for i, column in enumerate(columns))
    condition = ""
    if only_if_status:
        condition = f" AND {table}.status IN ({', '.join('%s' for _ in only_if_status)})"
    params: list[Any]
    if connection.vendor == "postgresql":
        source = _recordset(columns)
        params = [_records(rows, columns)]
    else:
        # SQLite (3.33+ for UPDATE … FROM, 3.35+ for RETURNING): the rows as one VALUES list.
        names = ", ".join(
            ["column1 AS id", *(f"column{i + 2} AS c{i}" for i in range(len(columns)))]
        )
        tuples = ", ".join("(" + ", ".join(["%s"] * (len(columns) + 1)) + ")" for _ in rows)
        source = f"(SELECT {names} FROM (VALUES {tuples})) AS v"  # noqa: S608 (placeholders only)
        params = [
            value
            for row in rows
            for value in (
                row.pk,
                *(
                    None if value is None else column.get_db_prep_save(value, connection)
                    for column in columns
                    for value in (getattr(row, column.attname),)
                ),
            )
        ]
    sql = (
        f"UPDATE {table} SET {assignments} FROM {source} "  # noqa: S608 (names from the model only)
        f"WHERE {table}.{pk} = v.id{condition} RETURNING {table}.{pk}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, *only_if_status])
        return {found[0] for found in cursor.fetchall()}


def insert_new(
    model: type[models.Model], rows: Sequence[models.Model], unique: Sequence[str]
) -> list[int]:
    """Insert ``rows`` (PostgreSQL), skipping those whose ``unique`` columns are taken; return
    the ids of the rows inserted: one ``INSERT … SELECT … ON CONFLICT DO NOTHING RETURNING``.
    Field defaults are the caller's: each row's attributes are written as they are."""
    columns = [
        f for f in model._meta.concrete_fields if not f.primary_key and isinstance(f, models.Field)
    ]
    names = ", ".join(column.column for column in columns)
    picked = ", ".join(f"v.c{i}" for i in range(len(columns)))
    by_name = {column.name: column.column for column in columns}
    conflict = ", ".join(by_name[name] for name in unique)
    sql = (
        f"INSERT INTO {model._meta.db_table} ({names}) "  # noqa: S608 (names from the model only)
        f"SELECT {picked} FROM {_recordset(columns)} "
        f"ON CONFLICT ({conflict}) DO NOTHING RETURNING id"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [_records(rows, columns)])
        return [int(row[0]) for row in cursor.fetchall()]
