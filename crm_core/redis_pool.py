"""One Redis connection pool per process, shared by every app that keeps work in Redis.

Lead scoring's pending contacts and segments' pending work are written from the change notices of
every CRM write; a client built per call opens a new connection (a TCP handshake and the client's
hello) each time. `redis_client()` hands out a client of the process's pool for `settings.REDIS_URL`
instead: connections are reused, and redis-py's pool notices a fork (a Celery prefork child) and
starts over with connections of its own.
"""

from __future__ import annotations

import threading

from django.conf import settings

_pools: dict[str, object] = {}
_lock = threading.Lock()


def redis_client(url: str | None = None):
    """A Redis client on this process's shared pool for `url` (default `settings.REDIS_URL`)."""
    import redis

    url = url or settings.REDIS_URL
    pool = _pools.get(url)
    if pool is None:
        with _lock:
            pool = _pools.get(url)
            if pool is None:
                pool = _pools[url] = redis.ConnectionPool.from_url(url)
    return redis.Redis(connection_pool=pool)
