"""A marketer builds a landing page in the editor (form fields mapped to the contact and the lead),
watches the live preview follow the typing, saves, sees a refused save's errors at their fields (and
in the summary at the top), publishes; then a visitor opens the public page, is told at the field
what is missing, sends it, and the contact and the lead appear. axe-core finds no serious or
critical violation on the editor and the public page. Screenshots at 1366 and 390 px wide are kept
in the test's folder (and in $SHOTS_DIR when it is set)."""

import re

from conftest import wait_until
from crm_core.models import Contact, Lead
from crm_core.tests.factories import ContactFactory, MarketerFactory, SubscriptionListFactory
from landing.models import LandingPage, PageStatus
from landing.services import preferences_url
from landing.tests.factories import LandingPageFactory

from .accessibility import check_accessibility
from .screens import shots


def fill_row(page, index: int, *, name, label, field_type="text", required=False, contact="", lead=""):
    page.fill(f"input[name=fields-{index}-name]", name)
    page.fill(f"input[name=fields-{index}-label]", label)
    page.select_option(f"select[name=fields-{index}-field_type]", field_type)
    if required:
        page.check(f"input[name=fields-{index}-required]")
    page.select_option(f"select[name=fields-{index}-contact_field]", contact)
    page.select_option(f"select[name=fields-{index}-lead_field]", lead)


def log_in(page, live_server, path: str) -> None:
    MarketerFactory(username="mia")
    page.goto(f"{live_server.url}/accounts/login/?next={path}")
    page.fill("input[name=username]", "mia")
    page.fill("input[name=password]", "correct horse battery")
    page.click("button[type=submit]")
    page.wait_for_url(f"**{path}")


def build_with_live_preview(page) -> None:
    """The live preview follows the unsaved form: title, content, fields, submit label, consent."""
    preview = page.locator('[data-testid="preview"]')
    page.fill("#id_title", "Data Platform Demo")
    preview.locator("h1", has_text="Data Platform Demo").wait_for()
    page.fill("#id_slug", "data-platform-demo")
    page.fill("#id_lead_topic", "Data Platform Demo")
    page.fill("#id_content", "<p>See the platform <strong>live</strong>.</p>")
    preview.locator(".landing-content strong", has_text="live").wait_for()
    fill_row(page, 0, name="email", label="Work email", field_type="email", required=True, contact="email")
    fill_row(
        page, 1, name="last_name", label="Last name", required=True, contact="last_name", lead="last_name"
    )
    fill_row(page, 2, name="company", label="Company", lead="company_name")
    page.click('[data-testid="add-field"]')  # a fourth row, added in the page
    fill_row(page, 3, name="team_size", label="Team size", field_type="choice")
    page.fill("input[name=fields-3-choices]", "1-10, 11-50, 51+")
    page.fill("#id_submit_label", "Book my demo")
    page.fill("#id_consent_text", "Send me product news by email")
    preview.locator("button", has_text="Book my demo").wait_for()
    preview.locator("label", has_text="Work email").wait_for()
    preview.locator("select[name=team_size] option", has_text="11-50").wait_for(state="attached")
    preview.locator("label", has_text="Send me product news by email").wait_for()
    assert preview.locator("form").get_attribute("inert") is not None  # shown only, never sent
    assert not LandingPage.objects.exists()  # nothing saved by the preview


def refused_save_shows_errors_at_their_fields(page, tmp_path, landing) -> None:
    """A refused save: each error at its input, the typed values kept, a summary at the top."""
    page.fill("#id_slug", "not a slug")
    page.uncheck("input[name=fields-0-required]")
    page.fill("input[name=fields-2-label]", "Company name")
    page.click('[data-testid="save"]')
    summary = page.locator('[data-testid="error-summary"]')
    summary.wait_for()
    assert page.evaluate("document.activeElement.id") == "error-summary"
    assert "slug" in page.locator("#id_slug_error").inner_text().lower()
    row_error = page.locator("#field-row-0 .errorlist")
    assert "must be required" in row_error.inner_text()
    assert page.locator("#id_fields-0-required").get_attribute("aria-invalid") == "true"
    assert page.input_value("input[name=fields-2-label]") == "Company name"
    assert not page.is_checked("input[name=fields-0-required]")
    assert summary.locator("a").count() == 2
    assert summary.locator('a[href="#id_fields-0-required"]').count() == 1
    check_accessibility(page, "landing page editor with errors")
    shots(page, tmp_path, "landing-editor-errors")
    landing.refresh_from_db()
    assert landing.slug == "data-platform-demo"  # nothing saved


def visitor_sends_the_form(visitor, live_server, tmp_path) -> None:
    """A visitor (no session) opens the public page, forgets a required field, then sends it."""
    visitor.goto(f"{live_server.url}/l/data-platform-demo/")
    visitor.locator("h1", has_text="Data Platform Demo").wait_for()
    check_accessibility(visitor, "public landing page")
    shots(visitor, tmp_path, "landing-public")
    visitor.fill("input[name=email]", "pat@example.com")
    visitor.select_option("select[name=team_size]", "11-50")
    visitor.check("input[name=_consent]")
    visitor.click("button[type=submit]")
    error = visitor.locator("#id_last_name_error")
    error.wait_for()
    assert "required" in error.inner_text()
    assert visitor.input_value("input[name=email]") == "pat@example.com"
    check_accessibility(visitor, "public landing page with errors")
    shots(visitor, tmp_path, "landing-public-errors")
    visitor.fill("input[name=last_name]", "Doe")
    visitor.fill("input[name=company]", "Contoso")
    visitor.click("button[type=submit]")
    visitor.locator('[data-testid="thank-you"]').wait_for()
    shots(visitor, tmp_path, "landing-thank-you")


def test_marketer_builds_previews_and_publishes_a_page_that_a_visitor_sends(
    live_server, axe_page, tmp_path, settings
):
    settings.LANDING_RATE_LIMIT = "1000/minute"
    page = axe_page
    problems: list[str] = []
    page.on("pageerror", lambda e: problems.append(str(e)))
    log_in(page, live_server, "/landing-pages/new/")
    build_with_live_preview(page)

    page.click('[data-testid="save"]')
    page.wait_for_url(re.compile(r".*/landing-pages/\d+/$"))
    saved = page.locator('.messages [role="status"]', has_text="Landing page saved.")
    saved.wait_for()
    landing = LandingPage.objects.get(slug="data-platform-demo")
    assert landing.status == PageStatus.DRAFT
    assert list(landing.fields.values_list("name", "contact_field", "lead_field")) == [
        ("email", "email", ""),
        ("last_name", "last_name", "last_name"),
        ("company", "", "company_name"),
        ("team_size", "", ""),
    ]
    page.click('[data-testid="embed"] summary')
    assert "/l/data-platform-demo/embed/" in page.locator('[data-testid="embed-snippet"]').input_value()
    page.click('[data-testid="copy-embed"]')  # to the clipboard, or selected where it is refused
    page.locator('[data-testid="embed-copied"]', has_text=re.compile(r"Copied|Selected")).wait_for()
    page.locator('[data-testid="preview"] label', has_text="Team size").wait_for()
    check_accessibility(page, "landing page editor")
    shots(page, tmp_path, "landing-editor")
    page.reload()  # the saved message is shown once
    page.locator("#id_title").wait_for()
    assert saved.count() == 0

    refused_save_shows_errors_at_their_fields(page, tmp_path, landing)

    # Fixed and published.
    page.fill("#id_slug", "data-platform-demo")
    page.check("input[name=fields-0-required]")
    page.select_option("#id_status", "live")
    page.click('[data-testid="save"]')
    page.locator('.messages [role="status"]', has_text="Landing page saved.").wait_for()
    landing.refresh_from_db()
    assert landing.status == PageStatus.LIVE
    assert landing.fields.get(name="company").label == "Company name"

    visitor_sends_the_form(page.context.browser.new_page(bypass_csp=True), live_server, tmp_path)
    contact = wait_until(lambda: Contact.objects.filter(email="pat@example.com").first())
    assert contact.last_name == "Doe"
    lead = wait_until(lambda: Lead.objects.filter(parent_contact=contact, topic="Data Platform Demo").first())
    assert lead.company_name == "Contoso"
    assert problems == []


def test_the_embeddable_form_works_inside_another_sites_frame_and_the_public_pages_share_a_look(
    live_server, axe_page, tmp_path, settings
):
    settings.LANDING_RATE_LIMIT = "1000/minute"
    settings.SITE_URL = live_server.url  # the subscription center's link
    landing = LandingPageFactory(title="Whitepaper: data platforms", slug="whitepaper")
    contact = ContactFactory(email="nora@example.com")
    SubscriptionListFactory(name="Product news", description="A monthly email about what is new.")
    page = axe_page
    refused: list[str] = []
    page.on("console", lambda m: "frame-ancestors" in m.text and refused.append(m.text))

    # Another site (another origin: localhost, not 127.0.0.1) frames the embeddable form and the page.
    host = live_server.url.replace("127.0.0.1", "localhost") + "/host.html"
    public = f"{live_server.url}/l/whitepaper/"
    body = (
        "<!doctype html><title>Partner site</title><h1>Partner site</h1>"
        f'<iframe id="embed" title="Form" width="600" height="900" src="{public}embed/"></iframe>'
        f'<iframe id="page" title="Page" width="600" height="200" src="{public}"></iframe>'
    )
    page.route(host, lambda route: route.fulfill(status=200, content_type="text/html", body=body))
    page.goto(host)
    frame = page.frame_locator("#embed")
    frame.locator("h1", has_text="Whitepaper: data platforms").wait_for()
    wait_until(lambda: refused)  # the page itself may not be framed: only its embeddable variant
    assert "'none'" in refused[0]
    frame.locator("input[name=email]").fill("ivy@example.com")
    frame.locator("input[name=last_name]").fill("Ivy")
    frame.locator("button[type=submit]").click()
    frame.locator('[data-testid="thank-you"]').wait_for()
    wait_until(lambda: Contact.objects.filter(email="ivy@example.com").exists())

    # The same card on the embeddable variant, the subscription center and a message page.
    page.goto(f"{live_server.url}/l/whitepaper/embed/")
    shots(page, tmp_path, "landing-embed")
    page.goto(preferences_url(contact=contact))
    page.locator("h1", has_text="Your email preferences").wait_for()
    check_accessibility(page, "subscription center")
    shots(page, tmp_path, "landing-preferences")
    page.goto(f"{live_server.url}/preferences/not-a-token/")
    page.locator("h1", has_text="Link not valid").wait_for()
    shots(page, tmp_path, "landing-message")
    assert landing.submissions.count() == 1
