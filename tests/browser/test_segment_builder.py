"""A marketer builds the contract's example segment in the real page, saves it, goes live and sees
the right member count (the refresh runs on a real Celery worker)."""

import re

import pytest

from crm_core.tests.factories import ContactFactory, LeadFactory, MarketerFactory
from segments.models import Segment


@pytest.mark.worker
def test_marketer_builds_the_contoso_segment_and_goes_live(
    live_server, celery_worker_process, browser_page, tmp_path
):
    MarketerFactory(username="mia")
    ada = ContactFactory(job_role="decision_maker")
    LeadFactory(parent_contact=ada, topic="Contoso Ltd Conference")
    bob = ContactFactory(job_role="decision_maker")
    LeadFactory(parent_contact=bob, topic="Data Platform Demo")
    cyd = ContactFactory(job_role="influencer")
    LeadFactory(parent_contact=cyd, topic="Contoso Ltd Conference")
    page = browser_page

    page.goto(f"{live_server.url}/accounts/login/?next=/segments/new/")
    page.fill("input[name=username]", "mia")
    page.fill("input[name=password]", "correct horse battery")
    page.click("button[type=submit]")
    page.wait_for_url("**/segments/new/")
    page.fill('[data-testid="segment-name"]', "Contoso decision makers")

    # job role = decision maker
    page.click('[data-testid="tree"] > .tree-group > .add [data-testid="add-condition"]')
    condition = page.locator('[data-testid="condition"]').first
    condition.locator('[data-testid="field"]').select_option("job_role")
    condition.locator('[data-testid="op"]').select_option("eq")
    condition.locator('[data-testid="value"]').select_option("decision_maker")
    # AND has a lead (parent contact) whose topic is Contoso Ltd Conference
    page.click('[data-testid="tree"] > .tree-group > .add [data-testid="add-related"]')
    related = page.locator('[data-testid="related"]').first
    related.locator('[data-testid="relationship"]').select_option("leads")
    related.locator('[data-testid="add-condition"]').click()
    lead_condition = page.locator('[data-testid="related"] [data-testid="condition"]').first
    lead_condition.locator('[data-testid="field"]').select_option("topic")
    lead_condition.locator('[data-testid="op"]').select_option("eq")
    lead_condition.locator('[data-testid="value"]').fill("Contoso Ltd Conference")

    page.locator('[data-testid="live-count"]', has_text="1 contact match").wait_for()
    page.click('[data-testid="save"]')
    page.wait_for_url(re.compile(r".*/segments/\d+/$"))
    segment = Segment.objects.get(name="Contoso decision makers")
    assert segment.definition["conditions"][1]["related"] == "leads"

    page.click('[data-testid="go-live"]')
    page.locator('[data-testid="segment-status"]', has_text="live").wait_for()
    page.locator('[data-testid="member-count"]', has_text="1").wait_for(timeout=15_000)
    page.screenshot(path=str(tmp_path / "segment-builder.png"), full_page=True)
    segment.refresh_from_db()
    assert segment.status == "live" and segment.member_count == 1
    assert list(segment.memberships.values_list("contact_id", flat=True)) == [ada.pk]
