"""One statement to insert many ESP-event rows, skipping those already stored.

Updates of many rows go through :func:`reengagement.rows.update_rows`, which delivery
uses too.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.db import connection, models


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
