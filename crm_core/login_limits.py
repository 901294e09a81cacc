"""Failed logins counted per username, so guessing one account's password from many addresses
(which the per-address throttles cannot see) is stopped too.

LOGIN_FAILURE_LIMIT failures within LOGIN_FAILURE_WINDOW_SECONDS of the first one lock the username
until that window ends, from every address, whatever the password; the web login, the admin login
and the API token endpoint ask `login_locked_for` before checking a password. Failures are counted
from Django's `user_login_failed` signal (every `authenticate()` that fails), and a successful
login clears them. The counts live in the shared cache (Redis), so every web process sees them;
if the cache is down, logins are let through (logged) rather than everyone being locked out.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time

from django.conf import settings
from django.core.cache import cache

logger = logging.getLogger(__name__)


def _keys(username: str) -> tuple[str, str]:
    digest = hashlib.sha256((username or "").strip().casefold().encode()).hexdigest()[:40]
    return f"login-failures:{digest}:count", f"login-failures:{digest}:until"


def login_locked_for(username: str) -> int | None:
    """Seconds until `username` may try again, or None when it is not locked."""
    count_key, until_key = _keys(username)
    try:
        until, count = cache.get(until_key), cache.get(count_key, 0)
    except Exception:
        logger.warning("login failure counter unavailable; not locking", exc_info=True)
        return None
    if until is None or count < settings.LOGIN_FAILURE_LIMIT:
        return None
    remaining = math.ceil(until - time.time())
    return remaining if remaining > 0 else None


def login_failure_record(username: str) -> None:
    """Count one failed login of `username`; the first failure opens the window."""
    count_key, until_key = _keys(username)
    window = settings.LOGIN_FAILURE_WINDOW_SECONDS
    try:
        if cache.add(until_key, time.time() + window, timeout=window):
            cache.set(count_key, 0, timeout=window)
        cache.add(count_key, 0, timeout=window)
        cache.incr(count_key)
    except Exception:
        logger.warning("login failure counter unavailable; failure not counted", exc_info=True)


def login_failures_clear(username: str) -> None:
    try:
        cache.delete_many(_keys(username))
    except Exception:
        logger.warning("login failure counter unavailable", exc_info=True)


def locked_message(seconds: int) -> str:
    minutes = max(1, math.ceil(seconds / 60))
    return (
        "Too many failed log-in attempts for this username. "
        f"Try again in {minutes} minute{'s' if minutes != 1 else ''}."
    )


def on_login_failed(sender, credentials, request=None, **kwargs) -> None:
    """`user_login_failed` receiver."""
    username = credentials.get("username")
    if username:
        login_failure_record(username)


def on_logged_in(sender, request, user, **kwargs) -> None:
    """`user_logged_in` receiver."""
    login_failures_clear(user.get_username())
