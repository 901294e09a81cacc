"""Counting that stays cheap at a million rows."""

from django.core.paginator import Paginator
from django.db import connections
from django.utils.functional import cached_property

# Below this many rows an exact COUNT(*) is cheap enough.
ESTIMATE_ABOVE = 100_000


def estimated_table_rows(model, using: str = "default") -> int | None:
    """PostgreSQL's planner estimate of a table's rows, or None where there is none."""
    connection = connections[using]
    if connection.vendor != "postgresql":
        return None
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
