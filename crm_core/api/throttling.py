"""Rate limits read from settings at request time (REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]).

DRF's own throttles copy the rates when their module is imported; these read
them on each request, so a changed setting (an override in tests included)
takes effect at once. Rates come from API_THROTTLE_ANON / API_THROTTLE_USER.

Requests are told apart by `crm_core.net.client_address` (TRUSTED_PROXY_COUNT), never by the
X-Forwarded-For a client writes itself.
"""

import math

from rest_framework import throttling
from rest_framework.settings import api_settings

from crm_core.net import client_address


class _SettingsRate:
    def get_rate(self):
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)

    def get_ident(self, request):
        return client_address(request) or "unknown"


class AnonRateThrottle(_SettingsRate, throttling.AnonRateThrottle):
    pass


class UserRateThrottle(_SettingsRate, throttling.UserRateThrottle):
    pass


class ScopedRateThrottle(_SettingsRate, throttling.ScopedRateThrottle):
    """A rate of its own for one kind of request (the view's `throttle_scope` names it in
    DEFAULT_THROTTLE_RATES), counted per signed-in user (per client address when anonymous)."""


def retry_wording(wait: float | None) -> str:
    """When a throttled client may try again, in words ("in 42 seconds", "in 3 minutes")."""
    seconds = max(1, math.ceil(wait or 0))
    if seconds < 120:
        return f"in {seconds} second{'s' if seconds != 1 else ''}"
    return f"in {math.ceil(seconds / 60)} minutes"
