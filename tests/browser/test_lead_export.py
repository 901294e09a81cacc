"""A rep filters the lead list and downloads it as CSV: the file holds what the list shows, with the
custom fields' columns. Screenshots of the list at desktop and phone width (also in $SCREENSHOT_DIR)."""

import csv

from crm_core.services import custom_field_create
from crm_core.tests.factories import LeadFactory, SalesRepFactory

from .test_integrity_pages import shoot
from .test_sales_and_dashboard import log_in


def test_a_rep_downloads_the_filtered_lead_list(live_server, browser_page, tmp_path):
    rep = SalesRepFactory(username="sam")
    custom_field_create(entity="lead", key="budget", label="Budget", field_type="number")
    LeadFactory(topic="Mine", owner=rep, custom={"budget": 2500})
    LeadFactory(topic="Someone else's", owner=SalesRepFactory(username="other"))
    page = browser_page
    log_in(page, live_server, "sam")
    page.wait_for_url("**/leads/queue/")
    page.goto(f"{live_server.url}/leads/?owner=me")
    page.locator('[data-testid="lead-list-row"]', has_text="Mine").wait_for()
    shoot(page, tmp_path, "lead-list-export")
    with page.expect_download() as download:
        page.click('[data-testid="lead-export"]')
    with open(download.value.path(), newline="") as file:
        rows = list(csv.DictReader(file))
    assert [(row["topic"], row["owner"], row["custom.budget"]) for row in rows] == [("Mine", "sam", "2500")]
