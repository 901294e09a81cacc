"""A rep's day in the real pages (Playwright, system Chromium): a lead handed over by scoring shows in
the queue with its reasons and its "call within 24 h" task; the hand-off email's link opens the app's
lead page; the rep logs a call, completes the task, accepts and qualifies the lead from the queue row;
the lead's timeline shows all of it in order."""

import re
from datetime import timedelta
from urllib.parse import urlsplit

from django.core import mail
from django.utils import timezone

from crm_core.models import InteractionKind, Lead
from crm_core.tests.factories import InteractionFactory, LeadFactory, SalesRepFactory
from leadscoring.services import scoring_model_recompute
from leadscoring.tests.factories import PrimaryScoringModelFactory, ScoringRuleFactory
from sales.models import Activity, Task

from .test_sales_and_dashboard import log_in


def _hand_over(rep) -> Lead:
    model = PrimaryScoringModelFactory(name="Main", sales_ready_threshold=100)
    ScoringRuleFactory(model=model, interaction_kind=InteractionKind.EMAIL_CLICK, email="Pricing", points=40)
    ScoringRuleFactory(
        model=model,
        interaction_kind=InteractionKind.EVENT_ATTENDANCE,
        event="Contoso Ltd Conference",
        points=50,
    )
    lead = LeadFactory(owner=rep, topic="Data Platform", first_name="Ann", last_name="Lee")
    earlier = timezone.now() - timedelta(days=1)
    for kind, props in (
        (InteractionKind.EMAIL_CLICK, {"email": "Pricing"}),
        (InteractionKind.EMAIL_CLICK, {"email": "Pricing"}),
        (InteractionKind.EVENT_ATTENDANCE, {"event": "Contoso Ltd Conference"}),
    ):
        InteractionFactory(contact=lead.parent_contact, kind=kind, properties=props, occurred_at=earlier)
    scoring_model_recompute(model=model)  # commits; the hand-off email goes out after the commit
    return lead


# What the lead's timeline shows after the rep's day, newest first.
TIMELINE_NEWEST_FIRST = (
    "Sales accepted → Qualified",
    "Marketing qualified → Sales accepted",
    "Task done: Call within 24 h",
    "Call: Intro call",
    "Task: Call within 24 h",
    "became sales ready",
    "Clicked the Pricing email",
)


def _log_intro_call(page) -> None:
    """Log a 15-minute connected call from the lead page's work panel."""
    panel = page.locator('[data-testid="work-panel"]')
    panel.wait_for()
    panel.locator('[data-testid="log-activity"] summary').click()
    panel.locator("select[name=kind]").select_option("call")
    panel.locator("input[name=subject]").fill("Intro call")
    panel.locator("select[name=outcome]").select_option("connected")
    panel.locator("input[name=duration_minutes]").fill("15")
    panel.locator('[data-testid="log-activity-submit"]').click()


def test_a_rep_works_a_handed_over_lead(live_server, browser_page, tmp_path):
    rep = SalesRepFactory(username="sam", email="sam@example.com")
    lead = _hand_over(rep)
    [email] = [m for m in mail.outbox if m.to == ["sam@example.com"]]
    link = re.search(r"https?://\S+/leads/\d+/", email.body).group(0)
    assert urlsplit(link).path == f"/leads/{lead.pk}/"
    page = browser_page

    log_in(page, live_server, "sam")
    page.wait_for_url("**/leads/queue/")
    row = page.locator(f'[data-testid="lead-queue"] tr[data-lead-id="{lead.pk}"]')
    reasons = row.locator('[data-testid="lead-reasons"]').inner_text()
    assert "clicked the Pricing email twice" in reasons and "attended Contoso Ltd Conference" in reasons
    assert "Call within 24 h" in row.locator('[data-testid="lead-task"]').inner_text()
    page.locator('[data-testid="notifications-count"]', has_text="1").wait_for()
    page.screenshot(path=str(tmp_path / "queue-handed-over.png"), full_page=True)

    # The email's link opens the app's lead page.
    page.goto(live_server.url + urlsplit(link).path)
    assert page.locator('[data-testid="lead-topic"]').inner_text() == "Data Platform"
    _log_intro_call(page)
    page.locator(".message-success", has_text="Logged: Call: Intro call.").wait_for()
    timeline = page.locator('[data-testid="timeline"]')
    timeline.locator("li", has_text="Call: Intro call").wait_for()
    page.locator('[data-testid="record-tasks"] li', has_text="Call within 24 h").locator(
        '[data-testid="task-done"]'
    ).click()
    page.locator(".message-success", has_text="Done: Call within 24 h.").wait_for()
    timeline.locator("li", has_text="Task done: Call within 24 h").wait_for()
    assert Task.objects.get(lead=lead).done_at is not None
    assert Activity.objects.get(lead=lead).duration_minutes == 15

    # Back in the queue: accept, then qualify, without leaving the page.
    page.click('[data-testid="nav"] >> text=My leads')
    page.wait_for_url("**/leads/queue/")
    row = page.locator(f'[data-testid="lead-queue"] tr[data-lead-id="{lead.pk}"]')
    row.locator('[data-testid="action-accept"]').click()
    row.locator('[data-testid="row-message"]', has_text="Lead accepted.").wait_for()
    assert row.locator('[data-testid="lead-row-status"]').inner_text() == "Sales accepted"
    row.locator('[data-testid="open-qualify"]').click()
    row.locator("input[name=opportunity_name]").fill("Ann's data platform")
    row.locator('[data-testid="action-qualify"]').click()
    row.locator('[data-testid="row-message"]', has_text="opportunity").wait_for()
    assert row.locator('[data-testid="lead-row-status"]').inner_text() == "Qualified"
    assert page.url.endswith("/leads/queue/")
    page.screenshot(path=str(tmp_path / "queue-after-qualify.png"), full_page=True)

    # The lead's timeline, newest first.
    page.goto(f"{live_server.url}/leads/{lead.pk}/")
    entries = page.locator('[data-testid="timeline-entries"] li')
    entries.first.wait_for()
    texts = entries.all_inner_texts()
    positions = [
        next(i for i, text in enumerate(texts) if wanted in text) for wanted in TIMELINE_NEWEST_FIRST
    ]
    assert positions == sorted(positions), texts
    page.screenshot(path=str(tmp_path / "lead-timeline.png"), full_page=True)

    # At 390 px wide the queue and the lead page still fit.
    page.set_viewport_size({"width": 390, "height": 844})
    for path, name in ((f"/leads/{lead.pk}/", "lead-390.png"), ("/leads/queue/", "queue-390.png")):
        page.goto(live_server.url + path)
        page.locator("main").wait_for()
        if name == "lead-390.png":
            entries.first.wait_for()
        assert page.evaluate("() => document.documentElement.scrollWidth") <= 390 + 1, name
        page.screenshot(path=str(tmp_path / name), full_page=True)
