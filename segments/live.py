"""The live dynamic segments as change notices need them: what each reads, who references whom.

Every process keeps the index in memory and reloads it when `pending.live_version()` moved (the
services bump it after each change of a segment) or after RELOAD_SECONDS (a change made around the
services, e.g. in the admin).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from .compiler import referenced_segments
from .models import Segment, SegmentKind, SegmentStatus
from .pending import available, live_version
from .reads import Read, RelativeSchedule, definition_reads, relative_schedule

RELOAD_SECONDS = 10.0


@dataclass(frozen=True)
class LiveSegment:
    id: int
    version: int
    root: str
    reads: tuple[Read, ...]
    references: frozenset[int]
    schedule: RelativeSchedule | None


@dataclass
class LiveIndex:
    segments: dict[int, LiveSegment] = field(default_factory=dict)
    # segment id -> the live segments whose definition has `in_segment` of it
    dependents: dict[int, tuple[int, ...]] = field(default_factory=dict)
    # segment id -> its place in dependency order (a segment comes after those it references)
    rank: dict[int, int] = field(default_factory=dict)


_cached: tuple[bytes | None, float, LiveIndex] | None = None


def _dependency_ranks(segments: dict[int, LiveSegment]) -> dict[int, int]:
    rank: dict[int, int] = {}
    remaining = dict(segments)
    level = 0
    while remaining:
        ready = [pk for pk, s in remaining.items() if not (s.references & remaining.keys())]
        if not ready:  # a cycle (refused by validation; possible only around it): any order
            ready = list(remaining)
        for pk in ready:
            rank[pk] = level
            del remaining[pk]
        level += 1
    return rank


def _load() -> LiveIndex:
    rows = Segment.objects.filter(status=SegmentStatus.LIVE, kind=SegmentKind.DYNAMIC).values_list(
        "pk", "version", "definition"
    )
    index = LiveIndex()
    for pk, version, definition in rows:
        if not isinstance(definition, dict):
            continue
        index.segments[pk] = LiveSegment(
            id=pk,
            version=version,
            root=definition.get("entity", "contact"),
            reads=definition_reads(definition),
            references=frozenset(referenced_segments(definition)),
            schedule=relative_schedule(definition),
        )
    dependents: dict[int, list[int]] = {}
    for segment in index.segments.values():
        for referenced in segment.references:
            dependents.setdefault(referenced, []).append(segment.id)
    index.dependents = {pk: tuple(sorted(ids)) for pk, ids in dependents.items()}
    index.rank = _dependency_ranks(index.segments)
    return index


def live_index(*, fresh: bool = False) -> LiveIndex:
    """The index (`fresh`: read again now, e.g. after a change this process has not announced)."""
    global _cached
    version = live_version() if available() else None
    now = time.monotonic()
    if fresh or _cached is None or _cached[0] != version or now - _cached[1] > RELOAD_SECONDS:
        _cached = (version, now, _load())
    return _cached[2]
