"""Counting that stays cheap at a million rows: the planner's estimates instead of COUNT(*).

PostgreSQL keeps a row estimate per table and per query plan; the portable path (the embedded
SQLite default, `crm_core.sqlpath`) has none and counts exactly, which is cheap at its size.
"""

import json

from django.core.paginator import Paginator
from django.db import connections
from django.utils.functional import cached_property

from . import sqlpath

# Below this many rows an exact COUNT(*) is cheap enough.
ESTIMATE_ABOVE = 100_000


def estimated_table_rows(model, using: str = "default") -> int | None:
    """PostgreSQL's planner estimate of a table's rows, or None where there is none."""
    if not sqlpath.postgres_sql():
        return None
    connection = connections[using]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass", [model._meta.db_table]
        )
        row = cursor.fetchone()
    return int(row[0]) if row and row[0] is not None and row[0] >= 0 else None


class EstimatedCountPaginator(Paginator):
    """Uses the planner's estimate for an unfiltered queryset over a large table."""

    @cached_property
    def count(self) -> int:
        qs = self.object_list
        query = getattr(qs, "query", None)
        if query is not None and not query.where:
            estimate = estimated_table_rows(qs.model, qs.db)
            if estimate is not None and estimate > ESTIMATE_ABOVE:
                return estimate
        return super().count


def queryset_estimated_count(queryset) -> int | None:
    """The planner's estimate of the rows `queryset` returns (PostgreSQL), else an exact count.

    One EXPLAIN, no scan: a filtered list over a million rows can say "about N" cheaply.
    """
    if not sqlpath.postgres_sql():
        return queryset.count()
    connection = connections[queryset.db]
    query = queryset.order_by()
    if not query.query.where:
        estimate = estimated_table_rows(queryset.model, queryset.db)
        if estimate is not None:
            return estimate
    sql, params = query.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
        plan = cursor.fetchone()[0]
    if isinstance(plan, str):
        plan = json.loads(plan)
    return int(plan[0]["Plan"]["Plan Rows"])
