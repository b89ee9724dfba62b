"""Writing a batch of sends in one statement, compare-and-set on each row's status."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import connection
from django.db.models import Field

from campaigns.models import Send


def update_rows(
    sends: Sequence[Send], fields: Sequence[str], *, only_if_status: Sequence[str]
) -> set[int]:
    """Write ``fields`` of each send, compare-and-set on its status; returns the ids of the
    rows that were written (a row whose status moved on meanwhile is left alone).

    Django's ``bulk_update`` builds a CASE per field in Python, which cost more than sending
    the emails. PostgreSQL gets one ``UPDATE … FROM unnest(…) … RETURNING id``, SQLite one
    ``UPDATE … FROM (VALUES …) … RETURNING id``.
    """
    if not sends:
        return set()
    columns: list[Field[Any, Any]] = []
    for name in fields:
        column = Send._meta.get_field(name)
        assert isinstance(column, Field)
        columns.append(column)
    statuses = ", ".join("%s" for _ in only_if_status)
    values = [
        [column.get_db_prep_save(getattr(send, column.attname), connection) for column in columns]
        for send in sends
    ]
    table = Send._meta.db_table
    if connection.vendor == "postgresql":
        # One short statement for the whole batch, its rows passed as one array per column:
        # a VALUES list of a thousand placeholders cost more to build and parse than the update.
        arrays = ", ".join(f"CAST(%s AS {column.db_type(connection)}[])" for column in columns)
        names = ", ".join(["id", *(f"c{i}" for i in range(len(columns)))])
        assignments = ", ".join(f"{column.column} = v.c{i}" for i, column in enumerate(columns))
        sql = (
            f"UPDATE {table} SET {assignments} "  # noqa: S608 (names from the model only)
            f"FROM unnest(CAST(%s AS bigint[]), {arrays}) AS v({names}) "
            f"WHERE {table}.id = v.id AND {table}.status IN ({statuses}) "
            f"RETURNING {table}.id"
        )
        params: list[Any] = [[send.pk for send in sends]]
        params += [[row[i] for row in values] for i in range(len(columns))]
        with connection.cursor() as cursor:
            cursor.execute(sql, [*params, *only_if_status])
            return {row[0] for row in cursor.fetchall()}
    # SQLite (3.33+ for UPDATE … FROM, 3.35+ for RETURNING): the rows as one VALUES list.
    names = ", ".join(["column1 AS id", *(f"column{i + 2} AS c{i}" for i in range(len(columns)))])
    rows = ", ".join("(" + ", ".join(["%s"] * (len(columns) + 1)) + ")" for _ in sends)
    assignments = ", ".join(f"{column.column} = v.c{i}" for i, column in enumerate(columns))
    sql = (
        f"UPDATE {table} SET {assignments} "  # noqa: S608 (names from the model only)
        f"FROM (SELECT {names} FROM (VALUES {rows})) AS v "
        f"WHERE {table}.id = v.id AND {table}.status IN ({statuses}) "
        f"RETURNING {table}.id"
    )
    flat = [value for send, row in zip(sends, values, strict=True) for value in (send.pk, *row)]
    with connection.cursor() as cursor:
        cursor.execute(sql, [*flat, *only_if_status])
        return {row[0] for row in cursor.fetchall()}
