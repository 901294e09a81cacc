"""The portable path's reads and writes restricted to some leads, a chunk of ids at a time.

SQLite limits the parameters of one statement, so an `IN (...)` over many ids is split into chunks of
`CHUNK`; `ids` are sorted, so a queryset ordered by the chunked field comes back in that order.
"""

from __future__ import annotations

CHUNK = 500  # ids per `IN (...)`: SQLite limits the parameters of one statement


def chunked(ids: list[int]):
    for start in range(0, len(ids), CHUNK):
        yield ids[start : start + CHUNK]


def scoped(queryset, ids: list[int] | None, field: str = "lead_id") -> list:
    """The queryset's rows, restricted to `field` in `ids` (None: all), read a chunk at a time."""
    if ids is None:
        return list(queryset)
    return [row for chunk in chunked(ids) for row in queryset.filter(**{f"{field}__in": chunk})]


def update_scoped(queryset, ids: list[int] | None, field: str = "lead_id", **values) -> int:
    """`queryset.update(**values)` restricted to `field` in `ids` (None: all), a chunk at a time."""
    if ids is None:
        return queryset.update(**values)
    return sum(queryset.filter(**{f"{field}__in": chunk}).update(**values) for chunk in chunked(ids))
