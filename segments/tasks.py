"""The segments app's Celery tasks: thin wrappers around its services (see crm_core/tasking.py).

Services enqueue these by name (`tasking.enqueue("segments.refresh", ...)`), never by import.
"""

from celery import shared_task

from crm_core.tasking import RETRY_TRANSIENT

from . import freshness, incremental, refresh


@shared_task(name="segments.refresh", **RETRY_TRANSIENT)
def segment_refresh_task(*, segment_id: int) -> dict:
    """One segment in full (without Redis: a new definition, a referenced segment that changed)."""
    result = refresh.segment_refresh(segment_id=segment_id)
    return {"added": result.added, "removed": result.removed}


@shared_task(name="segments.refresh_pending", **RETRY_TRANSIENT)
def segments_refresh_pending_task() -> int:
    """The segments' pending work (changed records, referenced segments, full evaluations asked)."""
    return len(incremental.segments_refresh_pending())


@shared_task(name="segments.refresh_relative", **RETRY_TRANSIENT)
def segments_refresh_relative_task() -> int:
    """Full evaluations of the segments whose relative-time windows moved enough."""
    return len(freshness.segments_refresh_relative())


@shared_task(name="segments.refresh_changed", **RETRY_TRANSIENT)
def segments_refresh_changed_task() -> int:
    """Without Redis: the live segments that read an entity marked changed, in full."""
    return len(freshness.segments_refresh_changed())


@shared_task(name="segments.refresh_live", **RETRY_TRANSIENT)
def segments_refresh_live_task() -> int:
    """Every live segment in full: the periodic safety net."""
    return len(freshness.segments_refresh_live())
