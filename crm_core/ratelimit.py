"""A fixed-window counter in the cache, for limits that are not per client address.

Open when the cache is down: a limiter must not turn a cache outage into lost real traffic.
"""

from __future__ import annotations

import logging
import time

from django.core.cache import cache

logger = logging.getLogger(__name__)

PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_rate(rate: str) -> tuple[int, int]:
    """'20/minute' -> (20, 60)."""
    count, _, period = rate.partition("/")
    return int(count), PERIODS[period.strip()[0].lower()]


def over_limit(*, scope: str, key: str, rate: str) -> bool:
    """Count one hit of `key` in `scope`; True when the window's count passes `rate`."""
    limit, period = parse_rate(rate)
    window = int(time.time() // period)
    cache_key = f"ratelimit:{scope}:{key}:{period}:{window}"
    try:
        cache.add(cache_key, 0, timeout=period + 1)
        return cache.incr(cache_key) > limit
    except Exception:
        logger.warning("rate limiter %s unavailable; letting the request through", scope, exc_info=True)
        return False
