"""The segments app's Celery tasks: thin wrappers around its services (see crm_core/tasking.py).

Services enqueue these by name (`tasking.enqueue("segments.refresh", ...)`), never by import.
"""

from celery import shared_task

from crm_core.tasking import RETRY_TRANSIENT

from . import services


@shared_task(name="segments.refresh", **RETRY_TRANSIENT)
def segment_refresh_task(*, segment_id: int) -> dict:
    result = services.segment_refresh(segment_id=segment_id)
    return {"added": result.added, "removed": result.removed}


@shared_task(name="segments.refresh_changed", **RETRY_TRANSIENT)
def segments_refresh_changed_task() -> int:
    return len(services.segments_refresh_changed())


@shared_task(name="segments.refresh_live", **RETRY_TRANSIENT)
def segments_refresh_live_task() -> int:
    return len(services.segments_refresh_live())
