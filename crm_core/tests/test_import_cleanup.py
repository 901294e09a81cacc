"""Stored import uploads go once no run needs them: when the run finishes (done or failed; the
report stays with the job), and with the job when it was never run for IMPORT_UPLOAD_KEEP_DAYS
(beat's `crm_core.import_files_cleanup`)."""

import datetime as dt
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.base import ContentFile
from django.utils import timezone

from crm_core.models import ImportJob, ImportStatus
from crm_core.services.import_jobs import import_files_cleanup, import_job_create
from crm_core.tasks import import_files_cleanup_task
from crm_core.tests.factories import MarketerFactory
from crm_core.tests.test_import_jobs import csv_upload, report_rows, run

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


def stored(job) -> Path:
    return Path(settings.MEDIA_ROOT) / job.file.name


def uploads() -> list[Path]:
    return sorted((Path(settings.MEDIA_ROOT) / "imports" / "uploads").rglob("*.csv"))


@pytest.mark.parametrize("email", ["a@example.com", "not an email"])
def test_the_upload_goes_when_the_run_finishes_and_the_report_stays(
    email, django_capture_on_commit_callbacks
):
    mia = MarketerFactory()
    job = import_job_create(actor=mia, entity="contact", upload=csv_upload(["email"], [[email]]))
    path = stored(job)
    assert path.exists() and uploads() == [path]
    with django_capture_on_commit_callbacks(execute=True):
        run(job, mia)
    assert job.status == (ImportStatus.DONE if "@" in email else ImportStatus.FAILED)
    assert not job.file and not path.exists() and uploads() == []
    assert report_rows(job)[0]["row"] == "1"  # the report is kept


def test_a_rolled_back_write_keeps_nothing_but_the_report(monkeypatch, django_capture_on_commit_callbacks):
    from crm_core.services import import_run

    mia = MarketerFactory()
    job = import_job_create(actor=mia, entity="account", upload=csv_upload(["name"], [["A"]]))
    path = stored(job)

    def fail(job_id, phase, done, total):
        if phase == "committing":
            raise RuntimeError("disk gone")

    monkeypatch.setattr(import_run, "progress_set", fail)
    with django_capture_on_commit_callbacks(execute=True):
        run(job, mia)
    assert job.status == ImportStatus.FAILED and not job.file and not path.exists()


def test_beat_deletes_jobs_never_run_and_files_finished_jobs_still_name(django_capture_on_commit_callbacks):
    mia = MarketerFactory()
    old = import_job_create(actor=mia, entity="contact", upload=csv_upload(["email"], [["o@x.org"]]))
    recent = import_job_create(actor=mia, entity="contact", upload=csv_upload(["email"], [["r@x.org"]]))
    ImportJob.objects.filter(pk=old.pk).update(created_at=timezone.now() - dt.timedelta(days=8))
    # A finished job whose worker died between its commit and the file's delete.
    done = ImportJob.objects.create(entity="account", file_format="csv", status=ImportStatus.DONE)
    done.file.save("left.csv", ContentFile(b"name\nA\n"))
    left = stored(done)
    assert left.exists() and stored(old).exists()

    with django_capture_on_commit_callbacks(execute=True):
        assert import_files_cleanup() == {"jobs_deleted": 1, "files_deleted": 2}
    assert not ImportJob.objects.filter(pk=old.pk).exists() and not stored(old).exists()
    assert stored(recent).exists() and ImportJob.objects.get(pk=recent.pk).file
    done.refresh_from_db()
    assert not done.file and not left.exists()
    with django_capture_on_commit_callbacks(execute=True):
        assert import_files_cleanup_task() == {"jobs_deleted": 0, "files_deleted": 0}
    assert (
        settings.CELERY_BEAT_SCHEDULE["crm-core-import-files-cleanup"]["task"]
        == "crm_core.import_files_cleanup"
    )


def test_the_same_holds_on_sqlite(tmp_path):
    """This module again, in a process on the embedded default's database (SQLite)."""
    from django.db import connection

    from conftest import rerun_on_sqlite

    run = rerun_on_sqlite(tmp_path, __file__, leave_out="test_the_same_holds_on_sqlite")
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-3000:]
    assert connection.vendor == "postgresql" and "4 passed" in run.stdout, run.stdout[-2000:]
