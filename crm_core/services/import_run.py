"""The run of an import (the task `crm_core.import_run` calls `import_job_run`): read the stored
file, validate every row, then write them all in one transaction with the job's outcome and
report. A bad row anywhere saves nothing and the report names each bad row and field; a run that
fails while writing rolls everything back. Safe to run twice: a finished job is left alone, and a
run retried after a crash (nothing of it committed) starts again from the stored file."""

from __future__ import annotations

import csv
import io
import logging

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from .. import events
from ..custom_fields import PREFIX
from ..models import Account, ImportEntity, ImportJob, ImportStatus, KnownEmail
from ..sqlpath import postgres_sql
from ..tasking import TRANSIENT_ERRORS
from . import import_write_portable, import_write_sql
from .import_files import import_file_read, import_model, target_attname
from .import_jobs import _content, progress_set, upload_forget
from .import_rows import CleanRows, RowError, records_clean
from .imports import lead_bulk_import

log = logging.getLogger(__name__)
ACCOUNT_BATCH = 2_000
CREATED, UPDATED, SKIPPED, FAILED = "created", "updated", "skipped", "failed"
REPORT_HEADER = ("row", "outcome", "id", "column", "field", "message")


def _claim(job_id: int) -> ImportJob | None:
    """The job, marked running, if it is queued (or was running when its worker died)."""
    with transaction.atomic():
        job = ImportJob.objects.select_for_update().filter(pk=job_id).first()
        if job is None or job.status not in (ImportStatus.QUEUED, ImportStatus.RUNNING):
            return None
        job.status, job.started_at = ImportStatus.RUNNING, timezone.now()
        job.save(update_fields=["status", "started_at"])
        return job


def _report_file(job: ImportJob, rows) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(REPORT_HEADER)
    writer.writerows(rows)
    job.report.save(f"import-{job.pk}-report.csv", ContentFile(buffer.getvalue().encode()), save=False)


def _fail(job: ImportJob, *, total: int, message: str, errors: list[RowError] = ()) -> None:
    """Record a run that saved nothing: why, and the bad rows in the report."""
    job.status, job.finished_at, job.error = ImportStatus.FAILED, timezone.now(), message
    job.total_rows, job.failed_count = total, len({error.row for error in errors})
    job.created_count = job.updated_count = job.skipped_count = 0
    _report_file(job, [(e.row, FAILED, "", e.column, e.field, e.message) for e in errors])
    upload_forget(job)
    job.save()
    progress_set(job.pk, "failed", total, total)


def _contacts(job: ImportJob, checked: CleanRows, actor, progress) -> list[tuple]:
    model = import_model(job.entity)
    fields = sorted({target_attname(model, n) for n in job.mapping.values() if n})
    writer = import_write_sql if postgres_sql() else import_write_portable
    update_known = job.on_known_email == KnownEmail.UPDATE
    ids, created, updated = writer.contacts_write(
        rows=checked.values,
        known=checked.known,
        update_known=update_known,
        fields=fields,
        actor_id=actor.pk if actor else None,
        progress=progress,
    )
    outcomes = []
    for number, (values, pk) in enumerate(zip(checked.values, ids, strict=True), start=1):
        if pk in created:
            outcomes.append((number, CREATED, pk, "", "", ""))
        elif pk in updated:
            outcomes.append((number, UPDATED, pk, "", "", ""))
        elif values.get("email") in checked.known:
            why = (
                "Nothing to change."
                if update_known
                else "A contact has this email; known emails are skipped."
            )
            outcomes.append((number, SKIPPED, checked.known[values["email"]], "", "email", why))
        else:
            outcomes.append(
                (number, SKIPPED, "", "", "email", "A contact with this email was added meanwhile.")
            )
    names = sorted({"custom" if n.startswith(PREFIX) else n for n in job.mapping.values() if n})
    events.records_changed_on_commit(
        entity=events.CONTACT, action=events.CREATED, ids=created, contact_ids=created
    )
    events.records_changed_on_commit(
        entity=events.CONTACT, action=events.UPDATED, ids=updated, contact_ids=updated, fields=names
    )
    return outcomes


def _accounts(job: ImportJob, checked: CleanRows, actor, progress) -> list[tuple]:
    actor_id = actor.pk if actor else None
    accounts = [
        Account(**values, created_by_id=actor_id, updated_by_id=actor_id) for values in checked.values
    ]
    Account.objects.bulk_create(accounts, batch_size=ACCOUNT_BATCH)
    ids = [account.pk for account in accounts]
    events.records_changed_on_commit(entity=events.ACCOUNT, action=events.CREATED, ids=ids)
    return [(number, CREATED, pk, "", "", "") for number, pk in enumerate(ids, start=1)]


def _leads(job: ImportJob, checked: CleanRows, actor, progress) -> list[tuple]:
    done = [0]

    def written(count: int) -> None:
        done[0] += count
        progress(done[0])

    result = lead_bulk_import(rows=checked.values, imported_by=actor, progress=written)
    return [(number, CREATED, pk, "", "", "") for number, pk in enumerate(result.lead_ids, start=1)]


_WRITERS = {ImportEntity.CONTACT: _contacts, ImportEntity.ACCOUNT: _accounts, ImportEntity.LEAD: _leads}


def _write(job: ImportJob, checked: CleanRows, total: int) -> None:
    """All rows, the outcome and the report in one transaction."""
    with transaction.atomic():
        outcomes = _WRITERS[job.entity](
            job, checked, job.created_by, lambda n: progress_set(job.pk, "writing", n, total)
        )
        progress_set(job.pk, "committing", total, total)
        counts = dict.fromkeys((CREATED, UPDATED, SKIPPED), 0)
        for row in outcomes:
            counts[row[1]] += 1
        job.status, job.finished_at, job.error, job.total_rows = ImportStatus.DONE, timezone.now(), "", total
        job.created_count, job.updated_count = counts[CREATED], counts[UPDATED]
        job.skipped_count, job.failed_count = counts[SKIPPED], 0
        _report_file(job, outcomes)
        upload_forget(job)
        job.save()


def import_job_run(*, job_id: int) -> dict:
    """Run a queued import (see the module). Returns the job's status and counts."""
    job = _claim(job_id)
    if job is None:
        return {"skipped": "not queued"}
    total = 0
    try:
        parsed = import_file_read(_content(job), job.file_format)
        total = len(parsed.rows)
        progress_set(job.pk, "validating", 0, total)
        checked = records_clean(
            job.entity,
            job.mapping,
            job.header,
            parsed.rows,
            progress=lambda n: progress_set(job.pk, "validating", n, total),
        )
        if checked.errors:
            bad = len({error.row for error in checked.errors})
            first = checked.errors[0]
            _fail(
                job,
                total=total,
                errors=checked.errors,
                message=f"{bad:,} of {total:,} rows have errors (the first: row {first.row:,}, "
                f"{first.field}: {first.message}); nothing was saved.",
            )
        else:
            progress_set(job.pk, "writing", 0, total)
            _write(job, checked, total)
    except ValidationError as error:
        _fail(job, total=total, message=" ".join(error.messages))
    except TRANSIENT_ERRORS:
        raise  # retried by the task; nothing of this run was committed
    except Exception as error:  # a bug or a constraint: nothing was saved; say so on the job
        log.exception("import %s failed", job.pk)
        _fail(job, total=total, message=f"The import failed and saved nothing: {error}")
    return {
        "status": str(job.status),
        "created": job.created_count,
        "updated": job.updated_count,
        "skipped": job.skipped_count,
        "failed": job.failed_count,
    }
