"""A marketer scans for duplicates, marks one pair as not a duplicate, watches a scan finish, finds two
records of one person, compares them, keeps the other one and merges; the merged-away record's page
then opens the survivor. Screenshots at desktop and phone width are kept
in the test's folder (and in SCREENSHOT_DIR when set); the pages pass axe-core."""

import pytest
from django.utils import timezone

from config.celery_app import app as celery_app
from crm_core.models import ConsentLevel, Contact, DuplicateScan
from crm_core.services import duplicates_scan_run
from crm_core.tests.factories import AccountFactory, ContactFactory, LeadFactory, MarketerFactory

from .accessibility import check_accessibility
from .test_integrity_pages import shoot
from .test_sales_and_dashboard import log_in


@pytest.fixture
def eager_tasks():
    """ "Scan now" runs the scan in the request (on commit), as a worker would."""
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = previous


def test_a_marketer_merges_two_records_of_one_person(live_server, axe_page, tmp_path, eager_tasks):
    MarketerFactory(username="mia")
    acme = AccountFactory(name="Acme Industrial Holdings")
    old = ContactFactory(first_name="Grace", last_name="Hopper", email="grace.hopper@old-example.com",
                         parent_account=acme, phone="", consent_level=ConsentLevel.MARKETING)  # fmt: skip
    new = ContactFactory(first_name="GRACE", last_name="hopper", email="grace.hopper@navy-example.org",
                         parent_account=acme, phone="+1 555 0100", do_not_bulk_email=True)  # fmt: skip
    LeadFactory(parent_contact=old, topic="Compilers")
    # Two people who share the part of their emails before the @: a pair, but not one person.
    alex = ContactFactory(first_name="Alex", last_name="Twin", email="alex.twin@north-example.com")
    other = ContactFactory(first_name="Alex", last_name="Other", email="alex.twin@south-example.com")
    page = axe_page
    log_in(page, live_server, "mia")
    page.wait_for_url("**/dashboard/")
    page.goto(f"{live_server.url}/contacts/{old.pk}/")
    page.locator('[data-testid="contact-duplicates"]').wait_for()
    shoot(page, tmp_path, "contact-with-duplicates")
    page.click('[data-testid="nav"] >> text=Contacts')
    page.click('[data-testid="duplicates-link"]')
    page.wait_for_url("**/contacts/duplicates/")
    assert "No scan has run yet" in page.locator('[data-testid="duplicate-pairs"]').inner_text()
    page.click('[data-testid="scan-now"]')
    page.wait_for_url("**/contacts/duplicates/")
    page.locator('[data-testid="duplicate-scan"][data-state="idle"] >> text=Last scanned').wait_for()
    assert page.locator('[data-testid="duplicate-count"]').inner_text() == "2"
    pair = f'tr[data-pair="{alex.pk}-{other.pk}"]'
    page.locator(pair).locator('[data-testid="dismiss-pair"]').click()
    page.locator(".messages >> text=marked as not duplicates").wait_for()
    assert (
        page.locator(pair).count() == 0
        and page.locator('[data-testid="duplicate-count"]').inner_text() == "1"
    )
    # A scan under way: the page says so, then reloads by itself when it is done.
    scan = DuplicateScan.objects.create(requested_at=timezone.now())
    page.reload()
    page.locator('[data-testid="duplicate-scan"][data-state="scanning"]').wait_for()
    assert page.locator('[data-testid="scan-now"]').is_disabled()
    check_accessibility(page, "duplicates scanning")
    shoot(page, tmp_path, "duplicates-scanning")
    duplicates_scan_run(scan_id=scan.pk)
    page.locator('[data-testid="duplicate-scan"][data-state="idle"]').wait_for()
    assert page.locator(pair).count() == 0  # the dismissal outlived the scan
    row = page.locator(f'tr[data-pair="{old.pk}-{new.pk}"]')
    assert "Same name at the same account" in row.inner_text()
    assert "Same email name at another domain" in row.inner_text()
    check_accessibility(page, "duplicates")
    shoot(page, tmp_path, "duplicates")
    row.locator('[data-testid="compare-pair"]').click()
    page.wait_for_url(f"**/contacts/merge/{old.pk}/{new.pk}/")
    page.check(f'input[name="survivor"][value="{new.pk}"]')
    page.click('[data-testid="show-result"]')
    page.wait_for_url(f"**survivor={new.pk}")
    compare = page.locator('[data-testid="merge-compare"]')
    assert "Acme Industrial Holdings" in compare.inner_text()
    check_accessibility(page, "merge compare")
    shoot(page, tmp_path, "merge-compare")
    page.check('[data-testid="merge-confirm-box"]')
    page.click('[data-testid="merge-confirm"]')
    page.wait_for_url(f"**/contacts/{new.pk}/")
    assert f"Contact {old.pk} was merged into this contact" in page.locator(".messages").inner_text()
    assert "Compilers" in page.locator('[data-testid="contact-leads"]').inner_text()
    shoot(page, tmp_path, "merged")
    page.goto(f"{live_server.url}/contacts/{old.pk}/")
    page.wait_for_url(f"**/contacts/{new.pk}/")
    assert not Contact.objects.filter(pk=old.pk).exists()
