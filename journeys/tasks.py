"""Thin Celery tasks over journeys.services: each loads by id and is safe to run twice."""

from celery import shared_task

from . import services


@shared_task(name="journeys.tick", ignore_result=True)
def journeys_tick() -> dict:
    """Beat: enter, exit, hand due enrollments to workers, sweep the outbox."""
    return services.journeys_tick().__dict__


@shared_task(
    name="journeys.run_batch",
    ignore_result=True,
    autoretry_for=(Exception,),
    retry_backoff=True,
    max_retries=5,
)
def journeys_run_batch(enrollment_ids: list[int]) -> int:
    """Run the due steps of a batch of enrollments and send the emails they queued. A retry re-reads
    state under row locks, so what already ran is not run again."""
    return services.enrollments_run(enrollment_ids=enrollment_ids)


@shared_task(
    name="journeys.send_outbox",
    ignore_result=True,
    autoretry_for=(Exception,),
    retry_backoff=True,
    max_retries=5,
)
def journeys_send_outbox(outbox_ids: list[int]) -> int:
    """Send outbox rows still pending (rows already claimed or sent are left alone)."""
    return services.send_outbox(outbox_ids=outbox_ids)
