"""Rate limits read from settings at request time (REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]).

DRF's own throttles copy the rates when their module is imported; these read
them on each request, so a changed setting (an override in tests included)
takes effect at once. Rates come from API_THROTTLE_ANON / API_THROTTLE_USER.
"""

from rest_framework import throttling
from rest_framework.settings import api_settings


class _SettingsRate:
    def get_rate(self):
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)


class AnonRateThrottle(_SettingsRate, throttling.AnonRateThrottle):
    pass


class UserRateThrottle(_SettingsRate, throttling.UserRateThrottle):
    pass
