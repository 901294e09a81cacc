"""The JOURNEYS_* settings the engine reads, each with its default (read at call time, so a test's
`settings` fixture applies)."""

from django.conf import settings


def setting(name: str, default):
    return getattr(settings, name, default)
