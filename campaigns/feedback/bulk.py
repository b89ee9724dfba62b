"""One statement to write different values to many rows.

Django's ``bulk_update`` builds a ``CASE`` per field per row in Python, which cost more than
everything else in applying a batch of ESP events. PostgreSQL gets one
``UPDATE … FROM unnest(…)`` with one array per column; SQLite one ``executemany``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import connection, models


def update_rows(
    model: type[models.Model], rows: Sequence[models.Model], names: Sequence[str]
) -> int:
    """Write the ``names`` fields of each of ``rows`` (by primary key); returns rows changed."""
    if not rows or not names:
        return 0
    columns = []
    for name in names:
        column = model._meta.get_field(name)
        assert isinstance(column, models.Field)
        columns.append(column)
    values = [
        [column.get_db_prep_save(getattr(row, column.attname), connection) for column in columns]
        for row in rows
    ]
    table = model._meta.db_table
    if connection.vendor == "postgresql":
        arrays = ", ".join(f"CAST(%s AS {column.db_type(connection)}[])" for column in columns)
        aliases = ", ".join(["id", *(f"c{i}" for i in range(len(columns)))])
        assignments = ", ".join(f"{column.column} = v.c{i}" for i, column in enumerate(columns))
        sql = (
            f"UPDATE {table} SET {assignments} "  # noqa: S608 (names from the model only)
            f"FROM unnest(CAST(%s AS bigint[]), {arrays}) AS v({aliases}) "
            f"WHERE {table}.id = v.id"
        )
        params: list[Any] = [[row.pk for row in rows]]
        params += [[value[i] for value in values] for i in range(len(columns))]
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return max(cursor.rowcount, 0)
    assignments = ", ".join(f"{column.column} = %s" for column in columns)
    sql = f"UPDATE {table} SET {assignments} WHERE id = %s"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.executemany(sql, [[*v, row.pk] for row, v in zip(rows, values, strict=True)])
        return max(cursor.rowcount, 0)


def insert_new(
    model: type[models.Model], rows: Sequence[models.Model], unique: Sequence[str]
) -> list[int]:
    """Insert ``rows``, skipping those whose ``unique`` columns are taken; return the ids of
    the rows inserted. One statement on PostgreSQL (``ON CONFLICT DO NOTHING RETURNING``)."""
    columns = [
        f for f in model._meta.concrete_fields if not f.primary_key and isinstance(f, models.Field)
    ]
    arrays = ", ".join(f"CAST(%s AS {column.db_type(connection)}[])" for column in columns)
    names = ", ".join(column.column for column in columns)
    by_name = {column.name: column.column for column in columns}
    conflict = ", ".join(by_name[name] for name in unique)
    sql = (
        f"INSERT INTO {model._meta.db_table} ({names}) "  # noqa: S608 (names from the model only)
        f"SELECT * FROM unnest({arrays}) ON CONFLICT ({conflict}) DO NOTHING RETURNING id"
    )
    params = [
        [column.get_db_prep_save(column.pre_save(row, True), connection) for row in rows]
        for column in columns
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [int(row[0]) for row in cursor.fetchall()]
