"""A sales rep qualifies a lead whose contact the orphan-lead workflow made, and a marketer reads
the dashboard and a contact's 360-degree page, in the real pages (Playwright, system Chromium)."""

import re

from crm_core.models import Contact, ContactOrigin, LeadStatus, Opportunity
from crm_core.services import lead_link_orphans
from crm_core.tests.factories import (
    ContactFactory,
    InteractionFactory,
    LeadFactory,
    MarketerFactory,
    OrphanLeadFactory,
    SalesRepFactory,
)
from leadscoring.tests.factories import PrimaryScoringModelFactory, ScoringRuleFactory


def log_in(page, live_server, username):
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", "correct horse battery")
    page.click("button[type=submit]")


def test_a_rep_qualifies_a_lead_of_a_marketing_only_contact(live_server, browser_page, tmp_path):
    rep = SalesRepFactory(username="sam")
    ContactFactory(first_name="Nora", last_name="Normal")
    ContactFactory(first_name="Hidden", last_name="Marketer", marketing_only=True)
    lead = OrphanLeadFactory(
        owner=rep,
        sales_ready=True,
        status=LeadStatus.MARKETING_QUALIFIED,
        topic="Data Platform Demo",
        first_name="Olga",
        last_name="Orphan",
        email="olga.orphan@example.com",
        score=130,
    )
    lead_link_orphans()
    olga = Contact.objects.get(email="olga.orphan@example.com")
    assert olga.marketing_only and olga.origin == ContactOrigin.ORPHAN_LEAD_WORKFLOW
    # Name the contact so the sales view shows it by name once it is a sales contact.
    Contact.objects.filter(pk=olga.pk).update(first_name="Olga", last_name="Orphan")
    page = browser_page

    log_in(page, live_server, "sam")
    page.wait_for_url("**/leads/queue/")  # reps land on their queue
    page.click('[data-testid="nav"] >> text=Contacts')
    page.wait_for_url("**/contacts/")
    table = page.locator('[data-testid="contact-table"]')
    assert "Sales view" in page.locator('[data-testid="contact-estimate"]').inner_text()
    assert "Nora" in table.inner_text()
    assert "Hidden" not in table.inner_text() and "Olga" not in table.inner_text()
    page.screenshot(path=str(tmp_path / "contacts-sales-view.png"), full_page=True)

    page.click('[data-testid="nav"] >> text=My leads')
    page.wait_for_url("**/leads/queue/")
    row = page.locator(f'[data-testid="lead-queue"] tr[data-lead-id="{lead.pk}"]')
    assert "marketing-only" in row.inner_text() and "from orphan lead" in row.inner_text()
    page.screenshot(path=str(tmp_path / "lead-queue.png"), full_page=True)
    row.locator('[data-testid="lead-link"]').click()
    page.wait_for_url(f"**/leads/{lead.pk}/")

    actions = page.locator('[data-testid="lead-detail-actions"]')
    actions.locator('[data-testid="open-qualify"]').click()
    actions.locator("input[name=opportunity_name]").fill("Olga's data platform")
    actions.locator("input[name=amount]").fill("25000")
    page.screenshot(path=str(tmp_path / "qualify-form.png"), full_page=True)
    actions.locator('[data-testid="action-qualify"]').click()
    page.locator(".message-success", has_text="opportunity").wait_for()
    assert page.locator('[data-testid="lead-status"]').inner_text() == "Qualified"
    page.screenshot(path=str(tmp_path / "lead-qualified.png"), full_page=True)
    olga.refresh_from_db()
    assert not olga.marketing_only
    assert Opportunity.objects.get(originating_lead=lead).name == "Olga's data platform"

    page.click('[data-testid="nav"] >> text=Contacts')
    page.wait_for_url("**/contacts/")
    table = page.locator('[data-testid="contact-table"]')
    assert "Olga" in table.inner_text() and "Hidden" not in table.inner_text()
    page.screenshot(path=str(tmp_path / "contacts-after-qualify.png"), full_page=True)


def test_a_marketer_reads_the_dashboard_and_a_contact_page(live_server, browser_page, tmp_path):
    MarketerFactory(username="mia")
    model = PrimaryScoringModelFactory(name="Default")
    ScoringRuleFactory(model=model, name="Opened an email", interaction_kind="email_open", points=10)
    ada = ContactFactory(first_name="Ada", last_name="Lovelace")
    lead = LeadFactory(parent_contact=ada, topic="Contoso Ltd Conference", score=30)
    for _ in range(3):
        InteractionFactory(contact=ada, kind="email_open")
    for n in range(6):
        LeadFactory(score=n * 40, status=LeadStatus.MARKETING_QUALIFIED if n % 2 else LeadStatus.NEW)
    page = browser_page

    log_in(page, live_server, "mia")
    page.wait_for_url("**/dashboard/")
    canvas = page.locator('[data-testid="funnel-chart"]')
    canvas.wait_for()
    page.wait_for_function(
        "() => window.Chart && Chart.getChart(document.getElementById('funnel-chart')) !== undefined"
    )
    size = page.evaluate(
        "() => { const c = document.getElementById('funnel-chart'); return [c.width, c.height]; }"
    )
    assert size[0] > 0 and size[1] > 0
    bars = page.evaluate(
        "() => Chart.getChart(document.getElementById('funnel-chart')).data.datasets[0].data"
    )
    assert bars[:2] == [Contact.objects.count(), 7]
    page.wait_for_timeout(700)  # let the bars finish animating for the screenshot
    page.screenshot(path=str(tmp_path / "dashboard.png"), full_page=True)

    page.goto(f"{live_server.url}/contacts/{ada.pk}/")
    for section in ("contact-fields", "contact-consent", "contact-leads", "contact-timeline"):
        page.locator(f'[data-testid="{section}"]').wait_for()
    row = page.locator(f'tr[data-lead-id="{lead.pk}"]')
    row.locator("summary", has_text="Explain").click()
    explanation = row.locator('[data-testid="score-explanation"]')
    explanation.wait_for()
    assert re.search(r"Opened an email\s+3\s+30", explanation.inner_text())
    assert row.locator('[data-testid="score-total"]').inner_text() == "30"
    page.screenshot(path=str(tmp_path / "contact-360.png"), full_page=True)
