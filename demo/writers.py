"""How the demo's rows reach their tables, set-based: COPY on PostgreSQL, `bulk_create` elsewhere.

`table_writer(model, columns)` asks `crm_core.sqlpath` which path runs; either writer takes rows as
tuples in `columns` order holding Python values (JSON columns hold the objects the product stores).
Seeding writes its rows straight into crm_core's tables for speed (a million contacts in minutes);
`tables_finish` then moves the id sequences past the ids it chose and refreshes the planner's
statistics.
"""

import json

from django.core.management.color import no_style
from django.db import connection, models

from crm_core import sqlpath


class CopyWriter:
    """PostgreSQL: one COPY per call (JSON columns are sent as their JSON text)."""

    def __init__(self, model: type[models.Model], columns: list[str]):
        self.model = model
        self.columns = columns
        self.json_positions = [
            i for i, c in enumerate(columns) if isinstance(model._meta.get_field(c), models.JSONField)
        ]

    def write(self, rows: list[tuple]) -> None:
        if not rows:
            return
        db_columns = ", ".join(
            connection.ops.quote_name(self.model._meta.get_field(c).column) for c in self.columns
        )
        sql = f"COPY {connection.ops.quote_name(self.model._meta.db_table)} ({db_columns}) FROM STDIN"
        with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
            for row in rows:
                if self.json_positions:
                    row = list(row)
                    for i in self.json_positions:
                        row[i] = json.dumps(row[i])
                copy.write_row(row)


class BulkCreateWriter:
    """The portable path: `bulk_create` in batches of 500."""

    def __init__(self, model: type[models.Model], columns: list[str]):
        self.model = model
        self.columns = columns

    def write(self, rows: list[tuple]) -> None:
        if not rows:
            return
        self.model.objects.bulk_create(
            (self.model(**dict(zip(self.columns, row, strict=True))) for row in rows), batch_size=500
        )


def table_writer(model: type[models.Model], columns: list[str]) -> CopyWriter | BulkCreateWriter:
    """A writer of `columns` of `model`'s table, for the path `sqlpath.postgres_sql()` chooses."""
    return (CopyWriter if sqlpath.postgres_sql() else BulkCreateWriter)(model, columns)


def tables_finish(*, sequenced: list[type[models.Model]], written: list[type[models.Model]]) -> None:
    """Reset the id sequences of `sequenced` (their ids were chosen here) and, on PostgreSQL, ANALYZE
    every table in `written` so the planner knows their new size."""
    with connection.cursor() as cursor:
        for sql in connection.ops.sequence_reset_sql(no_style(), sequenced):
            cursor.execute(sql)
    if sqlpath.postgres_sql():
        with connection.cursor() as cursor:
            for model in written:
                cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")
