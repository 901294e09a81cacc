"""A rep keeps records in the app (Playwright, system Chromium; the orphan-lead workflow on a real
Celery worker): creates a lead for a person nobody knows, which the workflow gives a contact; edits
a contact (a bad email is refused at the field, then the fix is saved); saves a view of the lead list
and applies it again."""

import pytest

from conftest import wait_until
from crm_core.models import Contact, ContactOrigin, Lead
from crm_core.tests.factories import ContactFactory, LeadFactory, SalesRepFactory
from workspace.models import SavedView

from .test_sales_and_dashboard import log_in


@pytest.mark.worker
def test_a_rep_creates_a_lead_edits_a_contact_and_saves_a_view(
    live_server, celery_worker_process, browser_page, tmp_path
):
    rep = SalesRepFactory(username="sam")
    nora = ContactFactory(first_name="Nora", last_name="Normal", email="nora@example.com", city="Bonn")
    ContactFactory(email="taken@example.com")
    LeadFactory(topic="Someone else's", owner=SalesRepFactory(username="other"))
    page = browser_page

    log_in(page, live_server, "sam")
    page.wait_for_url("**/leads/queue/")

    # A lead for a person nobody knows: no parent contact.
    page.click('[data-testid="nav"] >> text="Leads"')
    page.wait_for_url("**/leads/")
    page.click('[data-testid="new-lead"]')
    page.wait_for_url("**/leads/new/")
    page.fill("input[name=topic]", "Data Platform")
    page.fill("input[name=first_name]", "Olga")
    page.fill("input[name=last_name]", "Orphan")
    page.fill("input[name=email]", "Olga.Orphan@Example.com")
    page.select_option("select[name=source]", "cold_call")
    assert page.locator("select[name=owner]").input_value() == str(rep.pk)
    page.click('[data-testid="record-save"]')
    page.locator(".message-success", has_text="Lead “Data Platform").wait_for()
    lead = Lead.objects.get(topic="Data Platform")
    assert page.url.endswith(f"/leads/{lead.pk}/")
    assert lead.owner == rep and lead.created_by == rep

    # The orphan-lead workflow (queued after the commit, run by the worker) gives it a contact.
    contact = wait_until(lambda: Contact.objects.filter(leads=lead).first(), timeout=60)
    assert contact.email == "olga.orphan@example.com"
    assert contact.marketing_only and contact.origin == ContactOrigin.ORPHAN_LEAD_WORKFLOW
    page.reload()
    page.locator('[data-testid="lead-contact"] a').wait_for()
    assert "marketing-only" in page.locator('[data-testid="lead-contact"]').inner_text()

    # Edit a contact: a taken email is refused at the field, nothing saved; then a good edit.
    page.goto(f"{live_server.url}/contacts/{nora.pk}/")
    page.click('[data-testid="edit-record"]')
    page.wait_for_url(f"**/contacts/{nora.pk}/edit/")
    page.fill("input[name=email]", "TAKEN@example.com")
    page.fill("input[name=city]", "Köln")
    page.click('[data-testid="record-save"]')
    error = page.locator('[data-testid="error-email"]')
    error.wait_for()
    assert error.inner_text() == "A contact with this email already exists."
    assert page.locator("input[name=email]").get_attribute("aria-invalid") == "true"
    nora.refresh_from_db()
    assert (nora.email, nora.city) == ("nora@example.com", "Bonn")
    page.fill("input[name=email]", "nora@example.com")
    page.click('[data-testid="record-save"]')
    page.locator(".message-success", has_text="Contact “Nora Normal” saved.").wait_for()
    assert page.url.endswith(f"/contacts/{nora.pk}/")
    nora.refresh_from_db()
    assert nora.city == "Köln" and nora.updated_by == rep

    # Save a view of the lead list: the rep's own leads, shared.
    page.click('[data-testid="nav"] >> text="Leads"')
    page.wait_for_url("**/leads/")
    page.select_option("select[name=owner]", "me")
    page.click('[data-testid="apply-filters"]')
    page.wait_for_url("**/leads/?*owner=me*")
    rows = page.locator('[data-testid="lead-list-row"]')
    assert rows.all_inner_texts() and all("Data Platform" in text for text in rows.all_inner_texts())
    page.click('[data-testid="saved-views"] > summary')
    page.fill('[data-testid="view-name"]', "My leads")
    page.check('[data-testid="view-shared"]')
    page.click('[data-testid="save-view"]')
    page.locator(".message-success", has_text="View “My leads” saved and shared with everyone.").wait_for()
    view = SavedView.objects.get(owner=rep)
    assert view.entity == "lead" and view.shared and "owner=me" in view.query

    # Applied again from a clean list.
    page.goto(f"{live_server.url}/leads/")
    assert "Someone else" in page.locator('[data-testid="lead-table"]').inner_text()
    page.locator('[data-testid="apply-view"]', has_text="My leads").click()
    page.wait_for_url("**/leads/?*owner=me*")
    assert "Someone else" not in page.locator('[data-testid="lead-table"]').inner_text()
    page.screenshot(path=str(tmp_path / "lead-list-saved-view.png"), full_page=True)
