"""The split step: a fixed share of enrollments takes the `next` branch, the rest `else`."""

import hashlib

from ...models import ExecutionOutcome
from ..batch import advance


def split_bucket(enrollment_id: int, step_id: int) -> int:
    """0-99, fixed per enrollment and step, so a re-run takes the same branch."""
    digest = hashlib.sha256(f"{enrollment_id}:{step_id}".encode()).digest()
    return int.from_bytes(digest[:4], "big") % 100


def split(step, members, batch):
    percent = int(step.config.get("percent", 50))
    return {
        e.pk: advance(ExecutionOutcome.YES)
        if split_bucket(e.pk, step.pk) < percent
        else advance(ExecutionOutcome.NO, "else")
        for e in members
    }
