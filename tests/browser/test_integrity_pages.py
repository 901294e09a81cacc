"""The pages the CRM's rules show people: a marketer reviews a lead held for an identity conflict and
sees a landing page's failed submissions; a rep is told why another rep's lead is not theirs.
Screenshots at desktop and phone width are kept in the test's folder."""

import os

from django.utils import timezone

from crm_core.models import IdentityStatus, Lead, LeadStatus
from crm_core.tests.factories import ContactFactory, LeadFactory, MarketerFactory, SalesRepFactory
from landing.models import FormSubmission, SubmissionStatus
from landing.tests.factories import LandingPageFactory

from .screens import capture
from .test_sales_and_dashboard import log_in

WIDTHS = {"desktop": 1366, "phone": 390}


def shoot(page, tmp_path, name):
    """Full-page screenshots at each width; the page must not be wider than the screen."""
    for label, width in WIDTHS.items():
        capture(page, width, tmp_path / f"{name}-{label}.png", name, os.environ.get("SCREENSHOT_DIR"))
    page.set_viewport_size({"width": WIDTHS["desktop"], "height": 900})


def test_a_marketer_links_a_lead_held_for_identity_review(live_server, browser_page, tmp_path):
    MarketerFactory(username="mia")
    known = ContactFactory(first_name="Ada", last_name="Lovelace", email="ada@example.com")
    held = LeadFactory(
        parent_contact=None,
        topic="Contoso Ltd Conference",
        first_name="Ada",
        last_name="Impostor",
        email="ada@example.com",
        identity_status=IdentityStatus.CONFLICT,
        identity_conflict_contact=known,
    )
    page = browser_page
    log_in(page, live_server, "mia")
    page.wait_for_url("**/dashboard/")
    page.click('[data-testid="nav"] >> text=Identity review')
    page.wait_for_url("**/leads/identity-review/")
    card = page.locator(f'article[data-lead-id="{held.pk}"]')
    assert "Impostor" in card.inner_text() and "Lovelace" in card.inner_text()
    shoot(page, tmp_path, "identity-review")
    card.locator('[data-testid="identity-link"]').click()
    page.wait_for_load_state()
    assert "No leads are waiting" in page.locator('[data-testid="identity-conflicts"]').inner_text()
    held.refresh_from_db()
    assert (held.parent_contact_id, held.identity_status) == (known.pk, IdentityStatus.LINKED)


def test_a_marketer_sees_failed_submissions_on_the_landing_pages(live_server, browser_page, tmp_path):
    MarketerFactory(username="mia")
    page_ = LandingPageFactory(title="Whitepaper")
    FormSubmission.objects.create(
        page=page_,
        payload={"email": "x@example.com"},
        status=SubmissionStatus.FAILED,
        error="the database refused the write",
        received_at=timezone.now(),
    )
    page = browser_page
    log_in(page, live_server, "mia")
    page.wait_for_url("**/dashboard/")
    page.goto(f"{live_server.url}/landing-pages/")
    assert "Whitepaper" in page.content()
    shoot(page, tmp_path, "landing-pages")
    page.goto(f"{live_server.url}/landing-pages/{page_.pk}/")
    assert "the database refused the write" in page.content()
    shoot(page, tmp_path, "landing-page-editor")


def test_a_rep_is_told_why_another_reps_lead_is_not_theirs(live_server, browser_page, tmp_path):
    SalesRepFactory(username="sam")
    other = SalesRepFactory(username="olivia")
    lead = LeadFactory(owner=other, status=LeadStatus.MARKETING_QUALIFIED, topic="Data Platform Demo")
    page = browser_page
    log_in(page, live_server, "sam")
    page.wait_for_url("**/leads/queue/")
    page.goto(f"{live_server.url}/leads/{lead.pk}/")
    assert "Data Platform Demo" in page.content()
    assert "belongs to another rep" in page.locator('[data-testid="lead-action-refusal"]').inner_text()
    assert page.locator('[data-testid="lead-detail-actions"]').count() == 0
    shoot(page, tmp_path, "lead-of-another-rep")
    assert Lead.objects.get(pk=lead.pk).status == LeadStatus.MARKETING_QUALIFIED
