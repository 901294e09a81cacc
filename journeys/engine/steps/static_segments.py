"""The static-segment steps: add the group to a static segment, or remove it."""

from ... import adapters
from ..batch import advance


def segment_add(step, members, batch):
    adapters.static_segment_add(
        segment_id=step.config["segment"], contact_ids=[e.contact_id for e in members], now=batch.now
    )
    return {e.pk: advance() for e in members}


def segment_remove(step, members, batch):
    adapters.static_segment_remove(
        segment_id=step.config["segment"], contact_ids=[e.contact_id for e in members]
    )
    return {e.pk: advance() for e in members}
