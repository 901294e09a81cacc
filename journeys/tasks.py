"""Thin Celery tasks over journeys.services: each loads by id and is safe to run twice.

Only transient errors are retried (`RETRY_TRANSIENT`). Nothing needs more: a step that fails on a
programming error leaves its batch rolled back and leased, and the tick hands it out again once the
lease has expired; an email the backend refuses goes back to `pending` (or `failed` after
JOURNEYS_SEND_MAX_ATTEMPTS) and the tick's sweep sends it again; a sender that fails between
messages still finishes its claim, so its unsent rows are pending for the sweep.
"""

from celery import shared_task

from crm_core.tasking import RETRY_TRANSIENT

from . import services


@shared_task(name="journeys.tick", ignore_result=True)
def journeys_tick() -> dict:
    """Beat: enter, exit, hand due enrollments to workers, sweep the outbox. Not retried: the next
    beat is its retry."""
    return services.journeys_tick().__dict__


@shared_task(name="journeys.run_batch", ignore_result=True, **RETRY_TRANSIENT)
def journeys_run_batch(enrollment_ids: list[int]) -> int:
    """Run the due steps of a batch of enrollments and send the emails they queued. A retry re-reads
    state under row locks, so what already ran is not run again."""
    return services.enrollments_run(enrollment_ids=enrollment_ids)


@shared_task(name="journeys.send_outbox", ignore_result=True, **RETRY_TRANSIENT)
def journeys_send_outbox(outbox_ids: list[int]) -> int:
    """Send outbox rows still pending (rows already claimed or sent are left alone)."""
    return services.send_outbox(outbox_ids=outbox_ids)
