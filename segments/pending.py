"""Pending work of live segments, in Redis: what each segment must re-evaluate, and which have some.

- `pending:<segment>`: a sorted set of anchors (`c:<contact>`, `a:<account>`, `v:<entity>:<row>`, or
  `F` for everything; see reads.py), each scored with the time it was first added (a second change
  of the same contact before the work is done coalesces into the first).
- `dirty`: the ids of the segments with something pending.
- `taken:<segment>`: what the one refresher holding the segment's lock took (`take`: an atomic
  RENAME). Done, it is deleted; on an error it goes back into `pending`; if the process died, the
  next holder of the lock takes it again together with what arrived since (nothing is lost).
- `live-version`: a new token after every change to a segment, so each process reloads its index of
  live segments (live.py) when it changed.

Adding work schedules one coalesced `segments.refresh_pending` run (a cache flag, the same as the
path without Redis uses, keeps it to one scheduled run). Without Redis (the embedded default)
`available()` is False and none of this is used.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable

from django.conf import settings
from django.core.cache import cache

from crm_core import tasking
from crm_core.redis_pool import redis_client as shared_redis_client

SCHEDULED_KEY = "segments:refresh-scheduled"
# Changes within this many seconds are folded into one run.
COALESCE_SECONDS = 1
# A scheduled run holds off further scheduling this long at most (if its worker died, the next
# change after this schedules again; the periodic runs cover the rest).
SCHEDULED_TTL_SECONDS = 5
DRAIN_TASK = "segments.refresh_pending"

_TAKE = """
redis.call('SREM', KEYS[3], ARGV[1])
if redis.call('EXISTS', KEYS[1]) == 1 then
  if redis.call('EXISTS', KEYS[2]) == 1 then
    redis.call('ZUNIONSTORE', KEYS[2], 2, KEYS[2], KEYS[1], 'AGGREGATE', 'MIN')
    redis.call('DEL', KEYS[1])
  else
    redis.call('RENAME', KEYS[1], KEYS[2])
  end
end
return redis.call('ZRANGE', KEYS[2], 0, -1, 'WITHSCORES')
"""
_RESTORE = """
if redis.call('EXISTS', KEYS[2]) == 1 then
  redis.call('ZUNIONSTORE', KEYS[1], 2, KEYS[1], KEYS[2], 'AGGREGATE', 'MIN')
  redis.call('DEL', KEYS[2])
  redis.call('SADD', KEYS[3], ARGV[1])
end
return 1
"""


def available() -> bool:
    """Is there a Redis to keep pending work in (False on the embedded default)?"""
    return bool(settings.REDIS_URL)


def _key(name: str) -> str:
    """A Redis key of segments, under the cache's key prefix (one per installation or test run)."""
    return f"{settings.CACHES['default'].get('KEY_PREFIX', '')}segments:{name}"


def pending_key(segment_id: int) -> str:
    return _key(f"pending:{segment_id}")


def taken_key(segment_id: int) -> str:
    return _key(f"taken:{segment_id}")


def dirty_key() -> str:
    return _key("dirty")


def latency_key() -> str:
    return _key("freshness-seconds")


def redis_client():
    """A client on the process's shared pool (crm_core/redis_pool.py)."""
    return shared_redis_client()


def schedule_drain() -> None:
    """One `segments.refresh_pending` run soon, unless one is scheduled already."""
    if cache.add(SCHEDULED_KEY, 1, timeout=SCHEDULED_TTL_SECONDS):
        tasking.enqueue_with(DRAIN_TASK, countdown=COALESCE_SECONDS)


def add(work: dict[int, Iterable[str]], *, at: float | None = None, scores: dict[str, float] | None = None):
    """Add anchors to segments' pending work (score: `scores[anchor]`, else `at`, else now) and
    schedule a run. An anchor already pending keeps its earlier time."""
    at = time.time() if at is None else at
    pipe = redis_client().pipeline(transaction=False)
    for segment_id, anchors in work.items():
        mapping = {anchor: (scores or {}).get(anchor, at) for anchor in anchors}
        if mapping:
            pipe.zadd(pending_key(segment_id), mapping, nx=True)
            pipe.sadd(dirty_key(), segment_id)
    if pipe:
        pipe.execute()
        schedule_drain()


def dirty() -> set[int]:
    return {int(pk) for pk in redis_client().smembers(dirty_key())}


def full_requested(segment_ids: Iterable[int]) -> set[int]:
    """Those of `segment_ids` that have a full evaluation pending."""
    ids = list(segment_ids)
    pipe = redis_client().pipeline(transaction=False)
    for segment_id in ids:
        pipe.zscore(pending_key(segment_id), "F")
    return {segment_id for segment_id, score in zip(ids, pipe.execute(), strict=True) if score is not None}


def left_behind(segment_ids: Iterable[int]) -> set[int]:
    """Those of `segment_ids` whose taken work a refresher that died left behind."""
    ids = list(segment_ids)
    pipe = redis_client().pipeline(transaction=False)
    for segment_id in ids:
        pipe.exists(taken_key(segment_id))
    return {segment_id for segment_id, found in zip(ids, pipe.execute(), strict=True) if found}


def take(segment_id: int) -> dict[str, float]:
    """Everything pending for the segment (and anything a dead refresher left), atomically; the caller
    must hold the segment's refresh lock and call `done` or `restore` afterwards."""
    client = redis_client()
    flat = client.eval(_TAKE, 3, pending_key(segment_id), taken_key(segment_id), dirty_key(), segment_id)
    return {flat[i].decode(): float(flat[i + 1]) for i in range(0, len(flat), 2)}


def restore(segment_id: int) -> None:
    """Put taken work back (the refresh failed); it stays pending for the next run."""
    redis_client().eval(_RESTORE, 3, pending_key(segment_id), taken_key(segment_id), dirty_key(), segment_id)


def forget(segment_id: int) -> None:
    """Drop every pending anchor of a segment that is gone or no longer live."""
    client = redis_client()
    client.delete(pending_key(segment_id), taken_key(segment_id))
    client.srem(dirty_key(), segment_id)


def is_dirty(segment_id: int) -> bool:
    return bool(redis_client().sismember(dirty_key(), segment_id))


def live_version() -> bytes | None:
    return redis_client().get(_key("live-version"))


def bump_live_version() -> None:
    """A new token (not a counter: a Redis that lost the key must not come back to a version a
    process has cached)."""
    redis_client().set(_key("live-version"), uuid.uuid4().hex)


def stats_key() -> str:
    return _key("freshness-runs")


def take_many(segment_ids: Iterable[int]) -> dict[int, dict[str, float]]:
    """`take` for several segments in one round trip."""
    ids = list(segment_ids)
    pipe = redis_client().pipeline(transaction=False)
    for segment_id in ids:
        pipe.eval(_TAKE, 3, pending_key(segment_id), taken_key(segment_id), dirty_key(), segment_id)
    return {
        segment_id: {flat[i].decode(): float(flat[i + 1]) for i in range(0, len(flat), 2)}
        for segment_id, flat in zip(ids, pipe.execute(), strict=True)
    }


def done_many(
    segment_ids: list[int],
    *,
    samples: list[float],
    finished: float,
    full: int = 0,
    incremental: int = 0,
    contacts: int = 0,
) -> None:
    """Drop the work these segments took (it is done) and, when SEGMENTS_FRESHNESS_SAMPLES is on, keep
    the seconds from each change to its membership being current (that many at most) and count the
    evaluations."""
    keep = getattr(settings, "SEGMENTS_FRESHNESS_SAMPLES", 0)
    pipe = redis_client().pipeline(transaction=False)
    if segment_ids:
        pipe.delete(*(taken_key(segment_id) for segment_id in segment_ids))
    if keep and samples:
        pipe.rpush(latency_key(), *(round(finished - at, 4) for at in samples))
        pipe.ltrim(latency_key(), -keep, -1)
    if keep:
        for name, count in (("full", full), ("incremental", incremental), ("contacts", contacts)):
            if count:
                pipe.hincrby(stats_key(), name, count)
    pipe.execute()
