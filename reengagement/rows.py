"""Writing many rows in one statement: different values per row and, where asked, compare-and-set
on each row's status. Delivery records its batches with it, feedback its ESP events, and the
learners' contactability its batches of suppressions."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import connection, models


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
    the emails. PostgreSQL gets one ``UPDATE … FROM unnest(…) … RETURNING id``, SQLite one
    ``UPDATE … FROM (VALUES …) … RETURNING id``.
    """
    if not rows or not fields:
        return set()
    meta = type(rows[0])._meta
    columns: list[models.Field[Any, Any]] = []
    for name in fields:
        column = meta.get_field(name)
        assert isinstance(column, models.Field)
        columns.append(column)
    # None needs no conversion, and most of the time columns of a batch are None.
    values = [
        [
            None if value is None else column.get_db_prep_save(value, connection)
            for column in columns
            for value in (getattr(row, column.attname),)
        ]
        for row in rows
    ]
    table, pk = meta.db_table, meta.pk.column if meta.pk else "id"
    assignments = ", ".join(f"{column.column} = v.c{i}" for i, column in enumerate(columns))
    condition = ""
    if only_if_status:
        condition = f" AND {table}.status IN ({', '.join('%s' for _ in only_if_status)})"
    if connection.vendor == "postgresql":
        # One short statement for the whole batch, its rows passed as one array per column:
        # a VALUES list of a thousand placeholders cost more to build and parse than the update.
        arrays = ", ".join(f"CAST(%s AS {column.db_type(connection)}[])" for column in columns)
        names = ", ".join(["id", *(f"c{i}" for i in range(len(columns)))])
        source = f"unnest(CAST(%s AS bigint[]), {arrays}) AS v({names})"
        params: list[Any] = [[row.pk for row in rows]]
        params += [[value[i] for value in values] for i in range(len(columns))]
    else:
        # SQLite (3.33+ for UPDATE … FROM, 3.35+ for RETURNING): the rows as one VALUES list.
        names = ", ".join(
            ["column1 AS id", *(f"column{i + 2} AS c{i}" for i in range(len(columns)))]
        )
        tuples = ", ".join("(" + ", ".join(["%s"] * (len(columns) + 1)) + ")" for _ in rows)
        source = f"(SELECT {names} FROM (VALUES {tuples})) AS v"  # noqa: S608 (placeholders only)
        params = [
            value
            for row, row_values in zip(rows, values, strict=True)
            for value in (row.pk, *row_values)
        ]
    sql = (
        f"UPDATE {table} SET {assignments} FROM {source} "  # noqa: S608 (names from the model only)
        f"WHERE {table}.{pk} = v.id{condition} RETURNING {table}.{pk}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, *only_if_status])
        return {found[0] for found in cursor.fetchall()}
