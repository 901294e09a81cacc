"""Defences of the public forms: signed form tokens and per-address rate limits (the address is
`crm_core.net.client_address`, the rule the API's throttles use too).

None of them may lose a valid submission: a refused request re-renders the form
with what the person typed, and the rate limiter lets requests through when the
cache is down rather than refuse them.
"""

from __future__ import annotations

import logging
import math
import time

from django.conf import settings
from django.core import signing
from django.core.cache import cache

from .models import LandingPage

logger = logging.getLogger(__name__)

FORM_TOKEN_SALT = "nurture.landing.form"
PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def form_token_make(*, page: LandingPage) -> str:
    return signing.dumps({"p": page.pk}, salt=FORM_TOKEN_SALT)


def form_token_valid(*, page: LandingPage, token: str | None) -> bool:
    """True for a token this site issued for this page within LANDING_FORM_TOKEN_MAX_AGE seconds."""
    if not token:
        return False
    try:
        data = signing.loads(token, salt=FORM_TOKEN_SALT, max_age=settings.LANDING_FORM_TOKEN_MAX_AGE)
    except signing.BadSignature:
        return False
    return isinstance(data, dict) and data.get("p") == page.pk


def parse_rate(rate: str) -> tuple[int, int]:
    """'20/minute' -> (20, 60)."""
    count, _, period = rate.partition("/")
    return int(count), PERIODS[period.strip()[0].lower()]


def rate_limit_retry_after(*, ip: str | None) -> int | None:
    """Count one submission for `ip`; the seconds to wait when it is over LANDING_RATE_LIMIT, else None."""
    limit, period = parse_rate(settings.LANDING_RATE_LIMIT)
    now = time.time()
    window = int(now // period)
    key = f"landing:rate:{ip or 'unknown'}:{period}:{window}"
    try:
        cache.add(key, 0, timeout=period + 1)
        count = cache.incr(key)
    except Exception:  # the cache being down must not turn away real people
        logger.warning("rate limiter unavailable; letting the submission through", exc_info=True)
        return None
    if count <= limit:
        return None
    return max(1, math.ceil((window + 1) * period - now))
