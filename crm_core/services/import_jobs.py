"""Imports with column mapping: upload -> mapping (remembered) -> preview -> run (a Celery task) ->
report. The run validates every row first and writes the whole file in ONE transaction: a bad row
anywhere, or a failure while writing, saves nothing of the file, and the report names the rows.

Contacts are written set-based by `import_write_sql` (PostgreSQL) or `import_write_portable`
(`crm_core.sqlpath.postgres_sql()` picks); accounts with multi-row INSERTs; leads through
`lead_bulk_import` (which runs the orphan-lead workflow for the batch). Progress goes to the cache
(the job row is inside the run's transaction until it commits) and the job row says the outcome.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from .. import tasking
from ..models import ImportEntity, ImportJob, ImportMapping, ImportStatus, KnownEmail
from .import_files import (
    file_format_of,
    header_signature,
    import_file_read,
    mapping_check,
    mapping_suggest,
)
from .import_rows import RowError, records_clean

RUN_TASK = "crm_core.import_run"
PREVIEW_ROWS = 20
PROGRESS_SECONDS = 24 * 3600


def _actor_id(actor) -> int | None:
    return actor.pk if actor is not None and getattr(actor, "is_authenticated", False) else None


def _content(job: ImportJob) -> bytes:
    if not job.file:  # deleted once the run finished (or by beat's sweep)
        raise ValidationError({"file": ["The uploaded file is no longer stored: upload it again."]})
    job.file.open("rb")
    try:
        return job.file.read()
    finally:
        job.file.close()


@transaction.atomic
def import_job_create(*, actor, entity: str, upload) -> ImportJob:
    """Store the uploaded file (until the run finishes, see `upload_forget`) and read its header;
    the mapping starts from the one remembered for this header, else from the column names."""
    if entity not in ImportEntity.values:
        raise ValidationError({"entity": [f"Expected one of {', '.join(ImportEntity.values)}."]})
    file_format = file_format_of(getattr(upload, "name", "") or "")
    content = upload.read()
    parsed = import_file_read(content, file_format, limit=0)
    remembered = None
    if _actor_id(actor) is not None:
        remembered = ImportMapping.objects.filter(
            user_id=actor.pk, entity=entity, header_signature=header_signature(parsed.header)
        ).first()
    mapping = mapping_suggest(entity, parsed.header)
    on_known = KnownEmail.UPDATE
    if remembered is not None:
        mapping = {column: remembered.mapping.get(column, "") for column in parsed.header}
        on_known = remembered.on_known_email
    job = ImportJob(
        entity=entity,
        file_name=upload.name[:255],
        file_format=file_format,
        header=parsed.header,
        mapping=mapping,
        on_known_email=on_known,
        created_by_id=_actor_id(actor),
    )
    job.file.save(upload.name, ContentFile(content), save=False)
    job.save()
    return job


@dataclass
class PreviewRow:
    row: int
    cells: list[str]
    errors: list[RowError]


@transaction.atomic
def import_job_map(*, job: ImportJob, actor, mapping: dict, on_known_email: str) -> list[PreviewRow]:
    """Save the mapping (remembered for this user and header) and preview the first rows with their
    errors. ValidationError for a bad mapping or a job that already ran."""
    if job.status not in (ImportStatus.UPLOADED, ImportStatus.MAPPED):
        raise ValidationError({"status": [f"This import is {job.status}; its mapping can no longer change."]})
    if on_known_email not in KnownEmail.values:
        raise ValidationError({"on_known_email": [f"Expected one of {', '.join(KnownEmail.values)}."]})
    job.mapping = mapping_check(job.entity, job.header, mapping)
    job.on_known_email = on_known_email
    job.status = ImportStatus.MAPPED
    job.save(update_fields=["mapping", "on_known_email", "status"])
    if _actor_id(actor) is not None:
        ImportMapping.objects.update_or_create(
            user_id=actor.pk,
            entity=job.entity,
            header_signature=header_signature(job.header),
            defaults={"mapping": job.mapping, "on_known_email": on_known_email},
        )
    return import_job_preview(job=job)


def import_job_preview(*, job: ImportJob, rows: int = PREVIEW_ROWS) -> list[PreviewRow]:
    """The first `rows` rows with the errors the run would find in them."""
    parsed = import_file_read(_content(job), job.file_format, limit=rows)
    checked = records_clean(job.entity, job.mapping, job.header, parsed.rows)
    by_row: dict[int, list[RowError]] = {}
    for error in checked.errors:
        by_row.setdefault(error.row, []).append(error)
    return [PreviewRow(n, cells, by_row.get(n, [])) for n, cells in enumerate(parsed.rows, start=1)]


@transaction.atomic
def import_job_start(*, job: ImportJob, actor=None) -> ImportJob:
    """Queue the run (after commit). Only a mapped import starts; starting it again changes nothing."""
    job = ImportJob.objects.select_for_update().get(pk=job.pk)
    if job.status in (ImportStatus.QUEUED, ImportStatus.RUNNING):
        return job
    if job.status != ImportStatus.MAPPED:
        raise ValidationError({"status": [f"This import is {job.status}; only a mapped import can run."]})
    job.status = ImportStatus.QUEUED
    job.save(update_fields=["status"])
    progress_set(job.pk, "queued", 0, 0)
    transaction.on_commit(lambda: tasking.enqueue(RUN_TASK, job.pk))
    return job


# --- Progress ------------------------------------------------------------------------------------


def _progress_key(job_id: int) -> str:
    return f"import-progress:{job_id}"


def progress_set(job_id: int, phase: str, done: int, total: int) -> None:
    cache.set(_progress_key(job_id), {"phase": phase, "done": done, "total": total}, PROGRESS_SECONDS)


def import_job_progress(job: ImportJob) -> dict:
    """{"status", "phase", "percent", "done", "total"}: validating is the first half, writing the second."""
    if job.status in (ImportStatus.DONE, ImportStatus.FAILED):
        return {
            "status": job.status,
            "phase": job.status,
            "percent": 100,
            "done": job.total_rows,
            "total": job.total_rows,
        }
    state = cache.get(_progress_key(job.pk)) or {"phase": job.status, "done": 0, "total": 0}
    total, done = state["total"], state["done"]
    half = 0 if not total else min(50, round(50 * done / total))
    percent = half + (50 if state["phase"] == "writing" else 0)
    if state["phase"] == "committing":
        percent = 99
    return {"status": job.status, "phase": state["phase"], "percent": percent, "done": done, "total": total}


# --- Stored uploads ------------------------------------------------------------------------------


def _delete_after_commit(storage, names: list[str]) -> None:
    def delete() -> None:
        for name in names:
            storage.delete(name)  # a file already gone is no error

    transaction.on_commit(delete)


def upload_forget(job: ImportJob) -> None:
    """Drop a finished job's stored upload: the field is cleared now (the caller saves the job) and
    the file deleted once that commits (a rolled-back run keeps it, for its retry)."""
    if job.file:
        _delete_after_commit(job.file.storage, [job.file.name])
        job.file = ""


@transaction.atomic
def import_files_cleanup(*, keep_days: int | None = None) -> dict:
    """Beat's sweep: delete the jobs that were uploaded or mapped but never run for `keep_days`
    (default `IMPORT_UPLOAD_KEEP_DAYS`) with their files, and the files finished jobs still name
    (a worker that died between the commit and the delete). Safe to run twice or at once."""
    days = settings.IMPORT_UPLOAD_KEEP_DAYS if keep_days is None else keep_days
    storage = ImportJob._meta.get_field("file").storage
    cutoff = timezone.now() - dt.timedelta(days=days)
    abandoned = ImportJob.objects.select_for_update(skip_locked=True).filter(
        status__in=(ImportStatus.UPLOADED, ImportStatus.MAPPED), created_at__lt=cutoff
    )
    dropped = list(abandoned.values_list("pk", "file", "report"))
    ImportJob.objects.filter(pk__in=[pk for pk, _, _ in dropped]).delete()
    finished = (
        ImportJob.objects.select_for_update(skip_locked=True)
        .filter(status__in=(ImportStatus.DONE, ImportStatus.FAILED))
        .exclude(file="")
    )
    kept = list(finished.values_list("pk", "file"))
    ImportJob.objects.filter(pk__in=[pk for pk, _ in kept]).update(file="")
    names = [name for _, *files in dropped for name in files if name] + [name for _, name in kept]
    _delete_after_commit(storage, names)
    return {"jobs_deleted": len(dropped), "files_deleted": len(names)}
