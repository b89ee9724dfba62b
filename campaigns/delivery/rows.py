"""Writing a batch of sends in one statement, compare-and-set on each row's status."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import connection
from django.db.models import Field

from campaigns.models import Send


def update_rows(
    sends: Sequence[Send], fields: Sequence[str], *, only_if_status: Sequence[str]
) -> int:
    """Write ``fields`` of each send in one statement, compare-and-set on its status.

    Django's ``bulk_update`` builds a CASE per field in Python, which cost more than sending
    the emails. PostgreSQL gets one ``UPDATE … FROM (VALUES …)``; SQLite one ``executemany``.
    """
    if not sends:
        return 0
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
            f"WHERE {table}.id = v.id AND {table}.status IN ({statuses})"
        )
        params: list[Any] = [[send.pk for send in sends]]
        params += [[row[i] for row in values] for i in range(len(columns))]
        with connection.cursor() as cursor:
            cursor.execute(sql, [*params, *only_if_status])
            return max(cursor.rowcount, 0)
    assignments = ", ".join(f"{column.column} = %s" for column in columns)
    sql = f"UPDATE {table} SET {assignments} WHERE id = %s AND status IN ({statuses})"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.executemany(
            sql, [[*v, send.pk, *only_if_status] for send, v in zip(sends, values, strict=True)]
        )
        return max(cursor.rowcount, 0)
