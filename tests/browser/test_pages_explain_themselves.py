"""Pages that explain themselves: error pages in the shell with the reason and a way back, the API
docs without internet, every main page at 390 px without sideways scrolling, axe-core on the contact
list and the dashboard. Screenshots at 1366 and 390 px are kept in the test's folder (and copied to
$SCREENSHOT_DIR when set), by `shoot` of test_integrity_pages."""

from urllib.parse import urlparse

import pytest

from crm_core.tests.factories import (
    AccountFactory,
    AdminUserFactory,
    ContactFactory,
    InteractionFactory,
    LeadFactory,
    MarketerFactory,
    SalesRepFactory,
)
from journeys.tests.factories import make_journey, send_email_step
from landing.tests.factories import LandingPageFactory
from leadscoring.tests.factories import PrimaryScoringModelFactory, ScoringRuleFactory
from segments.models import Segment
from segments.tests.test_describe import EMAIL_OPENED_30_DAYS

from .accessibility import check_accessibility
from .test_integrity_pages import WIDTHS, shoot
from .test_sales_and_dashboard import log_in

LONG_NAME = (
    "Contoso Ltd Conference decision makers who opened the spring webinar invitation and "
    "Europe_roadshow_registrants_without_any_space_in_this_part_of_the_name"
)


def long_records():
    """Records with names long enough to widen a careless page."""
    account = AccountFactory(name="Featherstonehaugh-Wolfeschlegelsteinhausenbergerdorff Holdings")
    contact = ContactFactory(
        first_name="Maximiliana-Alexandrina",
        last_name="Featherstonehaugh-Wolfeschlegelsteinhausenbergerdorff",
        email="maximiliana.alexandrina.featherstonehaugh@very-long-company-domain-example.com",
        parent_account=account,
    )
    lead = LeadFactory(parent_contact=contact, parent_account=account, topic=LONG_NAME, score=1234567)
    InteractionFactory(contact=contact)
    segment = Segment.objects.create(name=LONG_NAME)
    model = PrimaryScoringModelFactory(name="Engagement")
    ScoringRuleFactory(
        model=model, name="Opened lately", interaction_kind=None, condition=EMAIL_OPENED_30_DAYS
    )
    journey = make_journey(steps=[send_email_step()])
    landing = LandingPageFactory()
    return {
        "contact": contact.pk,
        "account": account.pk,
        "lead": lead.pk,
        "segment": segment.pk,
        "journey": journey.pk,
        "landing": landing.pk,
    }


def test_error_pages_say_why_and_offer_a_way_back(live_server, browser_page, tmp_path):
    SalesRepFactory(username="sam")
    lead = LeadFactory(owner=SalesRepFactory(username="otto"), topic="Otto's lead")
    page = browser_page
    log_in(page, live_server, "sam")
    page.wait_for_url("**/leads/queue/")

    response = page.goto(f"{live_server.url}/dashboard/")  # marketing's page
    assert response.status == 403
    assert page.locator('[data-testid="error-reason"]').inner_text() == "The dashboard is for marketing."
    assert page.locator('[data-testid="nav"]').is_visible()  # inside the shell
    shoot(page, tmp_path, "error-403")

    response = page.goto(f"{live_server.url}/leads/{lead.pk}/accept/")  # a reload of the action
    assert response.status == 405
    assert "runs an action" in page.locator('[data-testid="error-reason"]').inner_text()
    shoot(page, tmp_path, "error-405")
    page.click('[data-testid="error-up"]')
    page.wait_for_url(f"**/leads/{lead.pk}/")
    assert "Otto's lead" in page.content()

    response = page.goto(f"{live_server.url}/contacts/987654/")
    assert response.status == 404
    assert page.locator('[data-testid="error-page"]').get_attribute("data-status") == "404"
    shoot(page, tmp_path, "error-404")
    page.click('[data-testid="error-up"]')
    page.wait_for_url("**/contacts/")


def test_api_docs_work_offline_and_ask_strangers_to_log_in(live_server, browser_page, tmp_path):
    MarketerFactory(username="mia")
    page = browser_page
    left_the_machine = []

    def only_local(route):
        if urlparse(route.request.url).hostname in ("127.0.0.1", "localhost"):  # the live server
            route.continue_()
        else:  # the machine has no internet here: nothing may be fetched from elsewhere
            left_the_machine.append(route.request.url)
            route.abort()

    page.route("**/*", only_local)
    response = page.goto(f"{live_server.url}/api/docs/")
    assert response.status == 401
    shoot(page, tmp_path, "api-docs-anonymous")
    page.click('[data-testid="error-login"]')
    page.fill("input[name=username]", "mia")
    page.fill("input[name=password]", "correct horse battery")
    page.click("button[type=submit]")
    page.wait_for_url("**/api/docs/")
    page.locator(".swagger-ui .info .title", has_text="Nurture API").wait_for()
    # The operations are drawn from the schema (the first tag; Swagger UI draws the others as the
    # page scrolls).
    page.locator(".opblock-tag", has_text="accounts").first.wait_for()
    page.locator(".opblock-summary-path", has_text="/api/accounts/").first.wait_for()
    shoot(page, tmp_path, "api-docs")
    assert left_the_machine == []


def test_every_main_page_fits_a_phone(live_server, browser_page, tmp_path):
    AdminUserFactory(username="ada")  # sees marketing's and sales' menus
    ids = long_records()
    page = browser_page
    log_in(page, live_server, "ada")
    page.wait_for_url("**/dashboard/")
    menu = [a.get_attribute("href") for a in page.locator('[data-testid="nav"] a').all()]
    assert len(menu) >= 10
    records = [
        f"/contacts/{ids['contact']}/",
        f"/accounts/{ids['account']}/",
        f"/leads/{ids['lead']}/",
        f"/segments/{ids['segment']}/",
        f"/journeys/{ids['journey']}/",
        f"/landing-pages/{ids['landing']}/",
        "/notifications/",
    ]
    for path in menu + records:
        page.set_viewport_size({"width": WIDTHS["phone"], "height": 900})
        page.goto(f"{live_server.url}{path}")
        page.wait_for_load_state("networkidle")
        name = path.strip("/").replace("/", "-")
        shoot(page, tmp_path, f"phone-{name}")  # asserts scrollWidth <= innerWidth at 1366 and 390
    page.goto(f"{live_server.url}/scoring/")
    assert (
        "parent contact: email opened in the last 30 days"
        in page.locator('[data-testid="rule-condition"]').inner_text()
    )


def test_contact_list_dashboard_journey_designer_and_segment_builder_pass_axe(
    live_server, axe_page, tmp_path
):
    MarketerFactory(username="mia")
    ids = long_records()
    page = axe_page
    log_in(page, live_server, "mia")
    page.wait_for_url("**/dashboard/")
    pages = (
        ("/dashboard/", "dashboard"),
        ("/contacts/", "contact list"),
        (f"/journeys/{ids['journey']}/", "journey designer"),
        (f"/segments/{ids['segment']}/", "segment builder"),
        ("/segments/new/", "new segment builder"),
    )
    for path, name in pages:
        for width in WIDTHS.values():
            page.set_viewport_size({"width": width, "height": 900})
            page.goto(f"{live_server.url}{path}")
            page.wait_for_load_state("networkidle")
            check_accessibility(page, f"{name} at {width}px")
        shoot(page, tmp_path, f"axe-{name.replace(' ', '-')}")


def test_the_axe_check_fails_on_a_serious_violation(axe_page):
    axe_page.set_content(
        '<html lang="en"><body><main><img src="chart.png"><button></button></main></body></html>'
    )
    with pytest.raises(AssertionError, match=r"button-name \(critical\)[\s\S]*image-alt \(critical\)"):
        check_accessibility(axe_page, "a page with an unlabelled image and button")
