from celery import shared_task

from . import services


@shared_task(acks_late=True, autoretry_for=(Exception,), retry_backoff=True, max_retries=5)
def segment_refresh_task(*, segment_id: int) -> dict:
    result = services.segment_refresh(segment_id=segment_id)
    return {"added": result.added, "removed": result.removed}


@shared_task(acks_late=True, autoretry_for=(Exception,), retry_backoff=True, max_retries=5)
def refresh_changed_segments_task() -> int:
    return len(services.segments_refresh_changed())


@shared_task(acks_late=True)
def refresh_live_segments_task() -> int:
    return len(services.segments_refresh_live())
