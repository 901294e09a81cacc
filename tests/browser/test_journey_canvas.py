"""A marketer builds a journey in the designer without typing JSON: an email from a saved template,
a wait, an if/then on the segment builder's own condition tree, a task on the "yes" lane and an end on
the "no" lane; goes live after the confirmation (its numbers checked); runs the engine and sees the
per-step stats on the cards move. axe-core finds no serious or critical violation on the canvas.
Screenshots of the canvas and the side panel at 1366 and 390 px go to the test's folder and to
$SCREENSHOT_DIR (shoot: the page may not be wider than the screen)."""

from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from conftest import wait_until
from crm_core.tests.factories import ContactFactory, MarketerFactory
from journeys import services
from journeys.email_views import STARTER_MJML
from journeys.models import Journey
from journeys.tests.factories import SegmentMemberFactory
from sales.models import Task

from .accessibility import check_accessibility
from .test_integrity_pages import shoot

AXE = Path(settings.BASE_DIR) / "node_modules" / "axe-core" / "axe.min.js"


def _log_in(page, live_server):
    page.goto(f"{live_server.url}/accounts/login/?next=/journeys/")
    page.fill("input[name=username]", "mia")
    page.fill("input[name=password]", "correct horse battery")
    page.click("button[type=submit]")
    page.wait_for_url("**/journeys/")


def _add(page, slot: str, kind: str):
    """Open the palette at a place (the "+ Add a step" link under a card) and pick a kind."""
    page.click(f'[data-testid="{slot}"]')
    page.click(f'[data-testid="palette-{kind}"]')
    page.locator('[data-testid="step-form"]').wait_for()
    page.locator("body[data-designer-ready]").wait_for(state="attached")


def _card(page, number: int):
    return page.locator('[data-testid="step-card"]', has=page.locator(f'.step-number:text-is("{number}")'))


def _no_serious_axe_violations(page, name):
    page.evaluate(AXE.read_text())  # the CSP refuses injected script tags; evaluate is not governed by it
    check_accessibility(page, name)


def _reload_until(page, selector: str, text: str):
    def shown():
        page.reload()
        return text in page.locator(selector).inner_text()

    wait_until(shown, timeout=30)


def test_marketer_builds_a_branching_journey_goes_live_and_sees_stats_move(
    live_server, browser_page, tmp_path
):
    MarketerFactory(username="mia")
    welcome = services.email_template_create(
        name="Welcome", kind="marketing", subject="Welcome", mjml=STARTER_MJML
    )
    ada = ContactFactory(first_name="Ada", job_role="decision_maker")
    bob = ContactFactory(first_name="Bob", job_role="end_user")
    dan = ContactFactory(first_name="Dan", job_role="decision_maker", do_not_email=True)
    for contact in (ada, bob, dan):
        SegmentMemberFactory(segment_id=7, contact=contact)
    page = browser_page
    problems = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    _log_in(page, live_server)

    # Create: settings by name, no JSON
    shoot(page, tmp_path, "journey-list")
    # The trigger's own fields show for the trigger chosen (a landing page picker for a form)
    page.select_option('[data-testid="entry-type"]', "trigger")
    page.select_option('[data-testid="trigger-kind"]', "form_submit")
    assert page.locator('[data-testid="trigger-page"]').is_visible()
    assert not page.locator('[data-testid="entry-segment"]').is_visible()
    assert not page.locator('[data-testid="trigger-field"]').is_visible()
    page.select_option('[data-testid="entry-type"]', "segment")
    page.fill('[data-testid="journey-name"]', "Welcome series")
    page.select_option('[data-testid="entry-segment"]', label="Segment 7 (static, draft, 0 members)")
    page.click('[data-testid="create-journey-button"]')
    page.wait_for_url("**/journeys/*/")
    journey = Journey.objects.get(name="Welcome series")

    # 1. Email from the saved template (the palette's place is the start of an empty journey)
    page.click('[data-testid="palette-send_email"]')
    page.select_option('[data-testid="template-picker"]', label="Welcome")
    editor_link = page.locator('[data-testid="open-template"]')
    assert editor_link.get_attribute("href") == f"/journeys/emails/{welcome.pk}/" and editor_link.is_visible()
    shoot(page, tmp_path, "journey-side-panel-email")
    page.click('[data-testid="save-step"]')
    _card(page, 1).get_by_text("Send ‘Welcome’ (template)").wait_for()

    # 2. Wait: a problem shows at the field and keeps the panel; then 2 days
    _add(page, "add-send-email-1-next", "wait_duration")
    page.fill('[data-testid="wait-amount"]', "0")
    page.click('[data-testid="save-step"]')
    page.locator('[data-testid="field-errors"]', has_text="the time must be 1 or more").wait_for()
    page.locator('[data-testid="new-step-card"]').wait_for()
    shoot(page, tmp_path, "journey-side-panel-error")
    page.fill('[data-testid="wait-amount"]', "2")
    page.select_option('[data-testid="wait-unit"]', "days")
    page.click('[data-testid="save-step"]')
    _card(page, 2).get_by_text("Wait 2 days").wait_for()

    # 3. If/then with the segment builder's condition tree
    _add(page, "add-wait-duration-1-next", "if_condition")
    tree = page.locator('[data-testid="condition-tree"]')
    tree.locator('[data-testid="add-condition"]').first.click()
    row = tree.locator('[data-testid="condition"]').first
    row.locator('[data-testid="field"]').select_option("job_role")
    row.locator('[data-testid="op"]').select_option("eq")
    row.locator('[data-testid="value"]').select_option("decision_maker")
    shoot(page, tmp_path, "journey-side-panel-condition")
    page.click('[data-testid="save-step"]')
    _card(page, 3).get_by_text("If job role is “Decision maker”").wait_for()

    # 4. Yes: a task for sales; no: the end
    _add(page, "add-if-condition-1-next", "create_task")
    page.fill('[data-testid="task-title"]', "Call about the welcome offer")
    page.fill('[data-testid="task-due"]', "2")
    page.click('[data-testid="save-step"]')
    page.locator('[data-testid="lane-next"] [data-testid="step-summary"]', has_text="Call about").wait_for()
    _add(page, "add-if-condition-1-else", "end")
    page.click('[data-testid="save-step"]')
    page.locator(
        '[data-testid="lane-else"] [data-testid="step-summary"]', has_text="End the journey"
    ).wait_for()
    assert page.locator("textarea").count() == 0

    page.goto(f"{live_server.url}/journeys/{journey.pk}/?step=if-condition-1")
    page.locator("body[data-designer-ready]").wait_for(state="attached")
    shoot(page, tmp_path, "journey-canvas-side-panel")
    _no_serious_axe_violations(page, "journey canvas with the condition panel")
    page.goto(f"{live_server.url}/journeys/{journey.pk}/")
    shoot(page, tmp_path, "journey-canvas")
    _no_serious_axe_violations(page, "journey canvas")

    # Go live after the confirmation: three enter, two may be emailed, two emails in the first hour
    page.click('[data-testid="go-live"]')
    assert page.locator('[data-testid="enter-now"]').inner_text() == "3"
    assert page.locator('[data-testid="may-email"]').inner_text() == "2"
    assert page.locator('[data-testid="first-hour"]').inner_text() == "2"
    shoot(page, tmp_path, "journey-go-live-confirm")
    _no_serious_axe_violations(page, "go-live confirmation")
    journey.refresh_from_db()
    assert journey.status == "draft"
    page.click('[data-testid="confirm-go-live"]')
    page.locator('[data-testid="journey-status"]', has_text="Live").wait_for()

    # The engine runs (as the tick would): the email's card counts the sends, the wait holds three
    services.journeys_tick(inline=True)
    _reload_until(page, '#step-send-email-1 [data-testid="stat-sent"]', "2")
    assert page.locator('#step-send-email-1 [data-testid="stat-skipped"]').inner_text() == "1"
    assert page.locator('#step-wait-duration-1 [data-testid="stat-here"]').inner_text().startswith("3")

    # Two days on: the if/then splits them (Ada and Dan yes, Bob no) and the yes lane makes tasks
    later = timezone.now() + timedelta(days=2, minutes=1)
    wait_until(
        lambda: services.journeys_tick(now=later, inline=True) and Task.objects.count() == 2, timeout=30
    )
    _reload_until(page, '#step-if-condition-1 [data-testid="stat-yes-no"]', "2 / 1")
    assert page.locator('#step-create-task-1 [data-testid="stat-ran"]').inner_text() == "2"
    shoot(page, tmp_path, "journey-canvas-live")

    # Live, a card's View opens its step in the side panel, read only
    page.click('#step-send-email-1 [data-testid="view-step"]')
    panel = page.locator('[data-testid="side-panel"]')
    assert "cannot be changed" in panel.inner_text()
    assert panel.locator('[data-testid="readonly-fields"] select').first.is_disabled()
    assert panel.locator('[data-testid="save-step"]').count() == 0
    shoot(page, tmp_path, "journey-canvas-live-step")
    _no_serious_axe_violations(page, "live journey with a step's read-only panel")
    assert problems == []
