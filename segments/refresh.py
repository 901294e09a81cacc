"""A segment's stored membership brought up to date from its definition.

`segment_refresh` evaluates the whole definition (the first fill of a definition, the periodic
safety net, the "refresh now" button). The statement that compares it with the stored members is
chosen by `crm_core.sqlpath`: refresh_sql.py on PostgreSQL, refresh_portable.py elsewhere.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from crm_core import sqlpath

from . import refresh_portable, refresh_sql
from .compiler import contacts_queryset
from .models import Segment, SegmentKind, SegmentMembership

# Joins and leaves of one refresh reported by id up to this many (beyond: None, "many").
CHANGED_LIMIT = 50_000


@dataclass
class RefreshResult:
    segment_id: int
    added: int = 0
    removed: int = 0
    seconds: float = 0.0
    skipped: str = ""
    changed: list[int] | None = field(default_factory=list)  # who joined or left (None: too many)


def _membership_diff(**kwargs) -> tuple[int, int, list[int] | None]:
    path = refresh_sql if sqlpath.postgres_sql() else refresh_portable
    return path.membership_diff(changed_limit=CHANGED_LIMIT, **kwargs)


def segment_refresh(*, segment_id: int) -> RefreshResult:
    """Bring the stored membership up to date: ONE statement evaluates the definition once, adds the
    new matches, removes the rest and logs each join and leave.

    The segment's row lock serialises refreshes of one segment. Static segments keep their list.
    """
    started = time.perf_counter()
    with transaction.atomic():
        segment = Segment.objects.select_for_update().filter(pk=segment_id).first()
        if segment is None:
            return RefreshResult(segment_id, skipped="deleted")
        if segment.kind == SegmentKind.STATIC:
            return RefreshResult(segment_id, skipped="static")
        now = timezone.now()
        added, removed, changed = _membership_diff(
            segment_id=segment.pk, members=contacts_queryset(segment.definition), now=now, contact_ids=None
        )
        segment.member_count = SegmentMembership.objects.filter(segment_id=segment.pk).count()
        segment.refreshed_at = now
        segment.refreshed_version = segment.version
        segment.last_refresh_added, segment.last_refresh_removed = added, removed
        segment.last_refresh_seconds = time.perf_counter() - started
        segment.save(
            update_fields=[
                "member_count", "refreshed_at", "refreshed_version", "last_refresh_added",
                "last_refresh_removed", "last_refresh_seconds",
            ]
        )  # fmt: skip
    return RefreshResult(segment_id, added, removed, time.perf_counter() - started, changed=changed)
