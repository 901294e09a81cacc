"""Celery tasks of the CRM core: thin, idempotent wrappers around services.

Services queue them by name (`crm_core.tasking.enqueue("crm_core.link_orphan_leads", ...)`), never
by importing this module; they retry only on transient errors (`tasking.RETRY_TRANSIENT`).
"""

from dataclasses import asdict

from celery import shared_task

from .selectors import orphan_workflow_enabled
from .services import duplicates_scan_run, lead_link_orphans, record_counts_compact
from .services.import_jobs import import_files_cleanup
from .services.import_run import import_job_run as import_run
from .tasking import RETRY_TRANSIENT


@shared_task(name="crm_core.link_orphan_leads", **RETRY_TRANSIENT)
def link_orphan_leads_task(lead_ids: list[int] | None = None, only_if_enabled: bool = True) -> dict:
    """Link orphan leads (these ids, or all of them) to contacts. Safe to run twice: a lead
    that has a parent contact by the time this runs is left alone.

    `only_if_enabled`: skip when the workflow has been switched off since this was enqueued
    (automatic runs); explicit runs (the admin action) pass False.
    """
    if only_if_enabled and not orphan_workflow_enabled():
        return {"skipped": "the orphan-lead workflow is switched off"}
    return asdict(lead_link_orphans(lead_ids=lead_ids))


@shared_task(name="crm_core.import_run", **RETRY_TRANSIENT)
def import_run_task(job_id: int) -> dict:
    """Run a queued import. Safe to run twice: a finished import is left alone, and a retry after a
    crash starts again from the stored file (its first run committed nothing)."""
    return import_run(job_id=job_id)


@shared_task(name="crm_core.compact_record_counts", **RETRY_TRANSIENT)
def compact_record_counts_task() -> dict:
    """Fold the record counts' deltas (beat). Safe to run twice or at once: a busy run is skipped."""
    return record_counts_compact()


@shared_task(name="crm_core.import_files_cleanup", **RETRY_TRANSIENT)
def import_files_cleanup_task() -> dict:
    """Delete stored import uploads no run needs any more (beat). Safe to run twice or at once."""
    return import_files_cleanup()


@shared_task(name="crm_core.duplicates_scan", **RETRY_TRANSIENT)
def duplicates_scan_task(scan_id: int | None = None) -> dict:
    """Find every likely duplicate pair (beat: nightly; "Scan now": a queued scan). Safe to run twice:
    the table is replaced by the same pairs, and a finished scan is left alone."""
    return duplicates_scan_run(scan_id=scan_id)
