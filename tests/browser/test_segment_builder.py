"""A marketer works the segment builder in the real page: builds the contract's example segment with
the compact builder (a searchable multi-select and a related-lead clause), sees an error next to its
row and the preview of the matching contacts, goes live from an unsaved builder (the refresh runs on
a real Celery worker), and makes a static list from a CSV upload. Screenshots at 1366 and 390 px
wide go to /tmp/shots/segbuilder/ (SEGMENT_SHOTS overrides)."""

import os
import re
from pathlib import Path

import pytest

from crm_core.tests.factories import ContactFactory, LeadFactory, MarketerFactory
from segments.models import Segment, SegmentMembershipEvent

SHOTS = Path(os.environ.get("SEGMENT_SHOTS", "/tmp/shots/segbuilder"))


def log_in(page, live_server, path: str) -> None:
    MarketerFactory(username="mia")
    page.goto(f"{live_server.url}/accounts/login/?next={path}")
    page.fill("input[name=username]", "mia")
    page.fill("input[name=password]", "correct horse battery")
    page.click("button[type=submit]")
    page.wait_for_url(f"**{path}")
    page.locator("#segment-builder[data-ready]").wait_for(state="attached")


def screenshots(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    for width in (1366, 390):
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=str(SHOTS / f"{name}-{width}.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})


@pytest.mark.worker
def test_marketer_builds_the_contoso_segment_and_goes_live_unsaved(
    live_server, celery_worker_process, browser_page
):
    ada = ContactFactory(job_role="decision_maker", email="ada@example.com")
    LeadFactory(parent_contact=ada, topic="Contoso Ltd Conference")
    bob = ContactFactory(job_role="decision_maker")
    LeadFactory(parent_contact=bob, topic="Data Platform Demo")
    cyd = ContactFactory(job_role="influencer")
    LeadFactory(parent_contact=cyd, topic="Contoso Ltd Conference")
    page = browser_page
    log_in(page, live_server, "/segments/new/")
    page.fill('[data-testid="segment-name"]', "Contoso decision makers")
    top = '[data-testid="tree"] .tree-group.root > .add'

    # job role is any of: Decision maker (the searchable multi-select)
    page.click(f'{top} [data-testid="add-condition"]')
    condition = page.locator('[data-testid="condition"]').first
    condition.locator('[data-testid="field"]').select_option("job_role")
    condition.locator('[data-testid="op"]').select_option("in")
    assert condition.locator('[data-testid="op"] option:checked').inner_text() == "is any of"
    condition.locator(".ts-control input").fill("decision")
    page.locator(".ts-dropdown .option", has_text="Decision maker").click()
    page.keyboard.press("Escape")
    # AND has a lead (parent contact) whose topic is Contoso Ltd Conference
    page.click(f'{top} [data-testid="add-related"]')
    related = page.locator('[data-testid="related"]').first
    related.locator('[data-testid="relationship"]').select_option("leads")
    related.locator('[data-testid="add-condition"]').click()
    lead_condition = related.locator('[data-testid="condition"]').first
    lead_condition.locator('[data-testid="field"]').select_option("topic")
    lead_condition.locator('[data-testid="op"]').select_option("eq")
    # A bad value is reported next to its own row, not below the tree.
    lead_condition.locator('[data-testid="op"]').select_option("in")
    row_error = lead_condition.locator('[data-testid="row-errors"] li')
    row_error.wait_for()
    assert row_error.inner_text() == "'in' needs a non-empty list of values"
    assert page.locator('[data-testid="tree"] [data-testid="errors"] li').count() == 0
    lead_condition.locator('[data-testid="op"]').select_option("eq")
    lead_condition.locator('[data-testid="value"]').fill("Contoso Ltd Conference")

    page.locator('[data-testid="live-count"]', has_text="1 contact matches").wait_for()
    page.locator(
        '[data-testid="preview-rows"] [data-testid="contact-row"]', has_text="ada@example.com"
    ).wait_for()
    assert page.locator('[data-testid="preview-rows"] [data-testid="contact-row"]').count() == 1
    assert page.locator('[data-testid="row-errors"] li').count() == 0
    screenshots(page, "builder")

    page.click('[data-testid="go-live"]')  # never saved: saves, then goes live
    page.locator('[data-testid="notice"]', has_text="live").wait_for()
    page.wait_for_url(re.compile(r".*/segments/\d+/$"))
    page.locator('[data-testid="segment-status"]', has_text="live").wait_for()
    page.locator('[data-testid="member-count"]', has_text="1").wait_for(timeout=15_000)
    segment = Segment.objects.get(name="Contoso decision makers")
    assert segment.status == "live" and page.url.endswith(f"/segments/{segment.pk}/")
    assert segment.definition["conditions"][0] == {
        "field": "job_role",
        "op": "in",
        "value": ["decision_maker"],
    }
    assert segment.definition["conditions"][1]["related"] == "leads"
    segment.refresh_from_db()
    assert list(segment.memberships.values_list("contact_id", flat=True)) == [ada.pk]

    # Reloaded, the saved tree is shown as it was built.
    page.reload()
    page.locator("#segment-builder[data-ready]").wait_for(state="attached")
    page.locator('[data-testid="live-count"]', has_text="1 contact matches").wait_for()
    assert page.locator('[data-testid="condition"]').count() == 2
    screenshots(page, "builder-live")


def test_go_live_without_a_name_says_why_and_saves_nothing(live_server, browser_page):
    page = browser_page
    log_in(page, live_server, "/segments/new/")
    page.click('[data-testid="tree"] .tree-group.root > .add [data-testid="add-condition"]')
    page.click('[data-testid="go-live"]')
    page.locator('[data-testid="notice"]', has_text="Not live").wait_for()
    page.locator('[data-testid="errors"]', has_text="Give the segment a name").wait_for()
    assert Segment.objects.count() == 0 and page.url.endswith("/segments/new/")


def test_marketer_makes_a_static_list_from_a_csv(live_server, browser_page, tmp_path):
    ada = ContactFactory(email="ada@example.com", first_name="Ada", last_name="Lovelace")
    bob = ContactFactory(email="bob@example.com", first_name="Bob", last_name="Babbage")
    page = browser_page
    log_in(page, live_server, "/segments/new/?kind=static")
    assert page.locator('[data-testid="segment-kind"]').input_value() == "static"
    page.locator('[data-testid="static-members"]').wait_for()
    assert page.locator('[data-testid="tree"]').is_hidden()
    page.fill('[data-testid="segment-name"]', "Trade show")

    bad = tmp_path / "bad.csv"
    bad.write_text("name,email\nAda,ada@example.com\nNo one,nobody@example.com\nX,not-an-email\n")
    page.set_input_files('[data-testid="member-csv"]', str(bad))
    page.click('[data-testid="upload-csv"]')
    errors = page.locator('[data-testid="member-errors"]')
    errors.locator("li", has_text="row 3: No contact has the email 'nobody@example.com'.").wait_for()
    assert "row 4: 'not-an-email' is not a valid email address." in errors.inner_text()
    segment = Segment.objects.get(name="Trade show")  # saved so the upload had a list to go to
    assert segment.kind == "static" and segment.memberships.count() == 0

    good = tmp_path / "good.csv"
    good.write_text("email\nada@example.com\nBOB@example.com\n")
    page.set_input_files('[data-testid="member-csv"]', str(good))
    page.click('[data-testid="upload-csv"]')
    page.locator('[data-testid="notice"]', has_text="2 added").wait_for()
    page.locator(
        '[data-testid="member-rows"] [data-testid="contact-row"]', has_text="bob@example.com"
    ).wait_for()
    assert page.locator('[data-testid="member-count"]').inner_text() == "2"
    assert page.locator('[data-testid="member-errors"] li').count() == 0
    screenshots(page, "static")

    page.locator('[data-testid="contact-row"]', has_text="ada@example.com").locator(
        '[data-testid="remove-member"]'
    ).click()
    page.locator('[data-testid="notice"]', has_text="1 removed").wait_for()
    page.locator(
        '[data-testid="member-rows"] [data-testid="contact-row"]', has_text="ada@example.com"
    ).wait_for(state="detached")
    assert set(segment.memberships.values_list("contact_id", flat=True)) == {bob.pk}
    assert sorted(
        SegmentMembershipEvent.objects.filter(segment=segment).values_list("contact_id", "change")
    ) == sorted([(ada.pk, "joined"), (bob.pk, "joined"), (ada.pk, "left")])

    # Duplicate the list (its members come along), then delete the copy.
    page.click('[data-testid="duplicate"]')
    page.wait_for_url(re.compile(rf".*/segments/(?!{segment.pk}/)\d+/$"))
    page.locator("#segment-builder[data-ready]").wait_for(state="attached")
    assert page.locator('[data-testid="segment-name"]').input_value() == "Copy of Trade show"
    page.locator(
        '[data-testid="member-rows"] [data-testid="contact-row"]', has_text="bob@example.com"
    ).wait_for()
    page.once("dialog", lambda dialog: dialog.accept())
    page.click('[data-testid="delete"]')
    page.wait_for_url(re.compile(r".*/segments/$"))
    assert list(Segment.objects.values_list("name", flat=True)) == ["Trade show"]
    screenshots(page, "list")
