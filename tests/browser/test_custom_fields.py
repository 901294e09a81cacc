"""A marketer defines a custom field, maps a landing-form field to it, a visitor submits the form,
and the marketer builds a segment on the field: every step in the real pages."""

import re

from crm_core.models import Contact, CustomField
from crm_core.tests.factories import MarketerFactory
from landing.tests.factories import LandingPageFactory
from segments.models import Segment


def test_marketer_defines_maps_collects_and_segments_on_a_custom_field(
    live_server, browser_page, tmp_path, settings
):
    settings.LANDING_RATE_LIMIT = "1000/minute"
    MarketerFactory(username="mia")
    landing = LandingPageFactory(title="Pricing guide", lead_topic="Pricing")
    page = browser_page

    page.goto(f"{live_server.url}/accounts/login/?next=/custom-fields/")
    page.fill("input[name=username]", "mia")
    page.fill("input[name=password]", "correct horse battery")
    page.click("button[type=submit]")
    page.wait_for_url("**/custom-fields/")

    # 1. define "Plan" (choice: basic, pro) on contacts
    form = page.locator('[data-testid="custom-field-form"]')
    form.locator("select[name=entity]").select_option("contact")
    form.locator("input[name=label]").fill("Plan")
    form.locator("input[name=key]").fill("plan")
    form.locator("select[name=field_type]").select_option("choice")
    form.locator("input[name=choices]").fill("basic, pro")
    form.locator("button[type=submit]").click()
    page.locator('[data-custom-field="contact.plan"]').wait_for()
    assert CustomField.objects.get(key="plan").choices[1]["value"] == "pro"

    # 2. map a new form field of the landing page to it
    page.goto(f"{live_server.url}/landing-pages/{landing.pk}/")
    row = landing.fields.count()  # the first empty row
    page.fill(f"input[name=fields-{row}-name]", "plan")
    page.fill(f"input[name=fields-{row}-label]", "Your plan")
    page.select_option(f"select[name=fields-{row}-field_type]", "choice")
    page.select_option(f"select[name=fields-{row}-contact_field]", "custom.plan")
    page.click("form button[type=submit]:has-text('Save')")
    page.locator("text=Landing page saved.").wait_for()
    assert landing.fields.get(name="plan").contact_field == "custom.plan"

    # 3. a visitor sends the form, choosing "pro" (the choices come from the custom field)
    page.goto(f"{live_server.url}/l/{landing.slug}/")
    page.fill("input[name=email]", "pat@example.com")
    page.fill("input[name=last_name]", "Pat")
    page.select_option("select[name=plan]", "pro")
    page.click("form button[type=submit]")
    page.locator(f"text={landing.thank_you_message}").wait_for()
    assert Contact.objects.get(email="pat@example.com").custom == {"plan": "pro"}

    # 4. a segment on the custom field: its live count finds the visitor
    page.goto(f"{live_server.url}/segments/new/")
    page.fill('[data-testid="segment-name"]', "Pro plan")
    page.click('[data-testid="tree"] > .tree-group > .add [data-testid="add-condition"]')
    condition = page.locator('[data-testid="condition"]').first
    condition.locator('[data-testid="field"]').select_option("custom.plan")
    condition.locator('[data-testid="op"]').select_option("eq")
    condition.locator('[data-testid="value"]').select_option("pro")
    page.locator('[data-testid="live-count"]', has_text="1 contact match").wait_for()
    page.click('[data-testid="save"]')
    page.wait_for_url(re.compile(r".*/segments/\d+/$"))
    page.screenshot(path=str(tmp_path / "custom-field-segment.png"), full_page=True)
    segment = Segment.objects.get(name="Pro plan")
    assert segment.definition["conditions"] == [{"field": "custom.plan", "op": "eq", "value": "pro"}]
