"""Imports 100,000 generated contact rows from a CSV through the import service (goal: < 60 s).

`python -m bench import` (or `imports`). A scratch database `<name>_imports` is created afresh
each run (migrated, empty but for `--known` contacts whose emails the file repeats, so the update
path runs too). The run is the task's own path: `import_job_start` with Celery eager, so after the
commit of the start the task runs `import_job_run` (read the stored file, validate every row, write
all in one transaction, the report). Prints rows per second and the server's settings.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import shutil
import tempfile

from bench.common import create_database, database_url, report, server_settings, setup_django, timer

HEADER = ["Email", "First name", "Last name", "Phone", "Job title", "Job role", "Country", "City"]
HEADER += ["Consent level", "Do not email"]
ROLES = ["decision_maker", "influencer", "end_user", "technical_buyer", "champion"]
COUNTRIES = ["Germany", "France", "United States", "Japan", "Brazil", "India"]


def generate_csv(rows: int) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(HEADER)
    for i in range(rows):
        writer.writerow([
            f"person{i}@example.com", f"First{i}", f"Last{i % 9973}", f"+49 30 {i:07d}", "Engineer",
            ROLES[i % len(ROLES)], COUNTRIES[i % len(COUNTRIES)], f"City {i % 500}", str(i % 6),
            "yes" if i % 10 == 0 else "no",
        ])  # fmt: skip
    return buffer.getvalue().encode()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench import", description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument(
        "--known", type=int, default=0, help="contacts that exist before (updated by the import)"
    )
    args = parser.parse_args(argv)
    media = tempfile.mkdtemp(prefix="bench-imports-")
    os.environ["MEDIA_ROOT"] = media
    url = database_url("imports")
    create_database(url, drop=True)
    setup_django(url)
    try:
        return _run(args)
    finally:
        shutil.rmtree(media, ignore_errors=True)


def _run(args) -> int:
    from django.contrib.auth import get_user_model
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.core.management import call_command

    from config.celery_app import app
    from crm_core.models import ConsentChange, Contact, ImportJob
    from crm_core.services.import_jobs import import_job_create, import_job_map, import_job_start

    call_command("migrate", verbosity=0)
    app.conf.task_always_eager = True
    actor = get_user_model().objects.create_user("bench-importer")
    Contact.objects.bulk_create(Contact(email=f"person{i}@example.com") for i in range(args.known))
    content = generate_csv(args.rows)
    with timer() as upload_time:
        job = import_job_create(
            actor=actor, entity="contact", upload=SimpleUploadedFile("contacts.csv", content)
        )
        import_job_map(job=job, actor=actor, mapping=job.mapping, on_known_email="update")
    with timer() as run_time:
        import_job_start(job=job, actor=actor)  # commits, then the eager task runs the import
    job = ImportJob.objects.get(pk=job.pk)
    assert job.status == "done", job.error
    seconds = run_time()
    report(
        f"import of {args.rows:,} contact rows (CSV, {len(content) / 1e6:.1f} MB)",
        [
            ("rows", f"{args.rows:,} ({args.known:,} with a known email)"),
            ("upload + mapping", f"{upload_time():.2f}s"),
            ("run", f"{seconds:.2f}s (goal < 60 s)"),
            ("rows/s", f"{args.rows / seconds:,.0f}"),
            ("outcome", f"created {job.created_count:,}, updated {job.updated_count:,}"),
            ("skipped", f"{job.skipped_count:,}"),
            ("consent changes", f"{ConsentChange.objects.count():,}"),
            *server_settings(),
        ],
    )
    return 0 if seconds < 60 else 1
