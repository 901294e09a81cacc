"""The imports pages: upload, mapping, preview with row errors, run, progress and report (the
services are tested in crm_core/tests/test_import_jobs.py, the whole flow in the browser in
tests/browser/test_imports.py)."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from crm_core.models import Contact, ImportJob
from crm_core.services.import_run import import_job_run
from crm_core.tests.factories import MarketerFactory, SalesRepFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


def csv_file(text="Mail,Surname\nann@example.com,Lee\nnot-an-address,Kim\n", name="people.csv"):
    return SimpleUploadedFile(name, text.encode(), content_type="text/csv")


def test_a_marketer_uploads_maps_previews_and_runs(client):
    client.force_login(MarketerFactory())
    page = client.get(reverse("workspace:import-list"))
    assert page.status_code == 200 and f'href="{reverse("workspace:import-list")}"' in page.content.decode()

    done = client.post(reverse("workspace:import-list"), {"entity": "contact", "file": csv_file()})
    job = ImportJob.objects.get()
    assert done.status_code == 302 and done["Location"] == reverse("workspace:import-detail", args=[job.pk])
    mapping = client.get(done["Location"]).content.decode()
    assert 'data-testid="map-mail"' in mapping and "2. Preview" not in mapping and "import-run" not in mapping

    bad = client.post(
        reverse("workspace:import-mapping", args=[job.pk]),
        {"column-0": "email", "column-1": "email", "on_known_email": "update"},
    )
    assert bad.status_code == 400 and "both mapped to" in bad.content.decode()
    client.post(
        reverse("workspace:import-mapping", args=[job.pk]),
        {"column-0": "email", "column-1": "last_name", "on_known_email": "skip"},
    )
    preview = client.get(reverse("workspace:import-detail", args=[job.pk])).content.decode()
    assert "1 error" in preview and "Mail: Enter a valid email address." in preview

    client.post(reverse("workspace:import-run", args=[job.pk]))
    running = client.get(reverse("workspace:import-progress", args=[job.pk])).content.decode()
    assert 'data-status="queued"' in running and 'hx-trigger="every 1s"' in running
    import_job_run(job_id=job.pk)
    finished = client.get(reverse("workspace:import-progress", args=[job.pk])).content.decode()
    assert (
        'data-status="failed"' in finished
        and "hx-trigger" not in finished
        and "nothing was saved" in finished
    )
    report = client.get(reverse("workspace:import-report", args=[job.pk]))
    assert b"2,failed,,Mail,email" in b"".join(report.streaming_content)
    assert Contact.objects.count() == 0


def test_a_bad_file_is_400_with_the_reason(client):
    client.force_login(MarketerFactory())
    page = client.post(
        reverse("workspace:import-list"), {"entity": "contact", "file": csv_file("a,b", "x.txt")}
    )
    assert page.status_code == 400 and "Upload a .csv or .xlsx file" in page.content.decode()
    assert ImportJob.objects.count() == 0


def test_sales_reps_cannot_import(client):
    client.force_login(SalesRepFactory())
    assert client.get(reverse("workspace:import-list")).status_code == 403
    assert (
        client.post(reverse("workspace:import-list"), {"entity": "contact", "file": csv_file()}).status_code
        == 403
    )
