"""The wait steps: for a duration since the step started, or until a date-time."""

from datetime import timedelta

from django.utils import timezone
from django.utils.dateparse import parse_datetime

from ..batch import advance, park


def wait_seconds(config: dict) -> int:
    """The length of a wait-duration step's config in seconds."""
    return int(
        config.get("seconds", 0)
        + 60 * config.get("minutes", 0)
        + 3600 * config.get("hours", 0)
        + 86400 * config.get("days", 0)
    )


def wait_duration(step, members, batch):
    delta = timedelta(seconds=wait_seconds(step.config))
    return {
        e.pk: advance() if e.step_started_at + delta <= batch.now else park(e.step_started_at + delta)
        for e in members
    }


def wait_until(step, members, batch):
    until = parse_datetime(step.config["until"])
    if timezone.is_naive(until):
        until = timezone.make_aware(until)
    return {e.pk: advance() if until <= batch.now else park(until) for e in members}
