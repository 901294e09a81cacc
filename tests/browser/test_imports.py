"""A marketer imports a 10,000-row CSV of contacts in the real pages: maps two columns the header
does not name and one to a custom field, previews, runs it on a real Celery worker and watches the
progress bar finish; the uploaded file is gone afterwards, the report stays."""

import csv
import os
import shutil
from pathlib import Path

import pytest

from crm_core.models import ConsentChange, Contact, ImportJob
from crm_core.services import custom_field_create
from crm_core.tests.factories import ContactFactory, MarketerFactory

from .test_sales_and_dashboard import log_in

ROWS = 10_000
WIDTHS = (1366, 390)


@pytest.fixture
def media_root(settings, tmp_path, monkeypatch):
    """One folder for the uploads of the live server (this process) and the worker (a subprocess)."""
    root = tmp_path / "media"
    settings.MEDIA_ROOT = str(root)
    monkeypatch.setenv("MEDIA_ROOT", str(root))
    return root


def shots(page, tmp_path, name):
    """Full-page screenshots at the two widths the pages are checked at (also into IMPORT_SHOTS_DIR)."""
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        path = tmp_path / f"{name}-{width}.png"
        page.screenshot(path=str(path), full_page=True)
        if os.environ.get("IMPORT_SHOTS_DIR"):
            Path(os.environ["IMPORT_SHOTS_DIR"]).mkdir(parents=True, exist_ok=True)
            shutil.copy(path, os.environ["IMPORT_SHOTS_DIR"])
    page.set_viewport_size({"width": 1280, "height": 900})


@pytest.mark.worker
def test_a_marketer_imports_10000_contacts_with_a_mapping(
    media_root, live_server, celery_worker_process, browser_page, tmp_path
):
    MarketerFactory(username="mia")
    custom_field_create(entity="contact", key="badge", label="Badge number", field_type="text")
    known = ContactFactory(email="person17@example.com", last_name="Before", consent_level=0)
    source = tmp_path / "trade-show.csv"
    with open(source, "w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["Work address", "First name", "Family", "Consent level", "Badge"])
        for i in range(1, ROWS + 1):
            writer.writerow([f"Person{i}@Example.com", f"First{i}", f"Family{i}", "marketing", f"B-{i}"])
    page = browser_page
    log_in(page, live_server, "mia")
    page.goto(f"{live_server.url}/imports/")
    page.select_option('[data-testid="import-entity"]', "contact")
    page.set_input_files('[data-testid="import-file"]', str(source))
    page.click('[data-testid="import-upload-submit"]')
    page.locator('[data-testid="import-mapping"]').wait_for()

    # The header suggests two fields; the marketer maps the two it does not name.
    assert page.input_value('[data-testid="map-first-name"]') == "first_name"
    assert page.input_value('[data-testid="map-consent-level"]') == "consent_level"
    assert page.input_value('[data-testid="map-work-address"]') == ""
    page.select_option('[data-testid="map-work-address"]', "email")
    page.select_option('[data-testid="map-family"]', "last_name")
    page.select_option('[data-testid="map-badge"]', "custom.badge")
    page.check('[data-testid="known-update"]')
    shots(page, tmp_path, "import-mapping")
    page.click('[data-testid="import-preview"]')
    page.locator('[data-testid="preview-summary"]', has_text="have no errors").wait_for()
    assert page.locator('[data-testid="import-preview-rows"] tbody tr').count() == 20
    shots(page, tmp_path, "import-preview")

    page.click('[data-testid="import-run"]')
    page.locator('[data-testid="import-progress-bar"]').wait_for()
    page.locator('[data-testid="import-progress"][data-status="done"]').wait_for(timeout=120_000)
    assert page.get_attribute('[data-testid="import-progress-bar"]', "value") == "100"
    assert page.inner_text('[data-testid="count-created"]') == str(ROWS - 1)
    assert page.inner_text('[data-testid="count-updated"]') == "1"
    shots(page, tmp_path, "import-done")
    with page.expect_download() as download:
        page.click('[data-testid="import-report"]')
    report = download.value.path().read_text().splitlines()
    assert report[0] == "row,outcome,id,column,field,message" and len(report) == ROWS + 1

    page.goto(f"{live_server.url}/imports/")
    page.locator('[data-testid="import-jobs"]', has_text="trade-show.csv").wait_for()
    shots(page, tmp_path, "import-list")

    job = ImportJob.objects.get()
    assert job.status == "done" and job.mapping["Work address"] == "email"
    assert job.mapping["Badge"] == "custom.badge"
    assert Contact.objects.count() == ROWS
    assert Contact.objects.get(email="person42@example.com").custom == {"badge": "B-42"}
    assert not job.file and not list((media_root / "imports" / "uploads").rglob("*.csv")) and job.report
    known.refresh_from_db()
    assert known.last_name == "Family17" and known.consent_level == 3
    assert ConsentChange.objects.filter(field="consent_level", source="import").count() == ROWS
