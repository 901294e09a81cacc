"""The rep's queue: handed-over leads with their reasons in words, new since the last visit, tasks due
today, and lifecycle actions that swap the row (htmx)."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from crm_core.models import InteractionKind, LeadStatus
from crm_core.tests.factories import InteractionFactory, LeadFactory
from leadscoring.services import scoring_model_recompute
from leadscoring.tests.factories import PrimaryScoringModelFactory, ScoringRuleFactory
from sales import services
from sales.models import Task

pytestmark = pytest.mark.django_db
QUEUE = reverse("workspace:lead-queue")
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def handed_over(sales_rep, django_capture_on_commit_callbacks):
    model = PrimaryScoringModelFactory(sales_ready_threshold=100)
    ScoringRuleFactory(model=model, interaction_kind=InteractionKind.EMAIL_CLICK, email="Pricing", points=40)
    ScoringRuleFactory(
        model=model,
        interaction_kind=InteractionKind.EVENT_ATTENDANCE,
        event="Contoso Ltd Conference",
        points=50,
    )
    ScoringRuleFactory(model=model, interaction_kind=InteractionKind.PAGE_VISIT, points=1)
    ScoringRuleFactory(model=model, interaction_kind=InteractionKind.EMAIL_OPEN, points=2)
    lead = LeadFactory(owner=sales_rep, topic="Data Platform")
    now = timezone.now()
    for kind, props in (
        (InteractionKind.EMAIL_CLICK, {"email": "Pricing"}),
        (InteractionKind.EMAIL_CLICK, {"email": "Pricing"}),
        (InteractionKind.EVENT_ATTENDANCE, {"event": "Contoso Ltd Conference"}),
        (InteractionKind.PAGE_VISIT, {"url": "/pricing"}),
        (InteractionKind.EMAIL_OPEN, {"email": "Pricing"}),
    ):
        InteractionFactory(
            contact=lead.parent_contact, kind=kind, properties=props, occurred_at=now - timedelta(hours=1)
        )
    with django_capture_on_commit_callbacks(execute=True):
        scoring_model_recompute(model=model)
    lead.refresh_from_db()
    assert lead.status == LeadStatus.MARKETING_QUALIFIED
    return lead


def test_the_queue_shows_the_reasons_in_words_and_the_call_task(client, sales_rep, handed_over):
    client.force_login(sales_rep)
    page = client.get(QUEUE)
    row = page.context["queue"].rows[0]
    assert row.reasons == [
        "clicked the Pricing email twice (+80)",
        "attended Contoso Ltd Conference (+50)",
        "opened emails once (+2)",
    ]
    assert [t.title for t in row.open_tasks] == ["Call within 24 h"]
    html = page.content.decode()
    assert "clicked the Pricing email twice" in html and "Call within 24 h" in html
    assert [t.title for t in page.context["open_tasks"]] == ["Call within 24 h"]


def test_new_since_the_last_visit(client, sales_rep, handed_over):
    client.force_login(sales_rep)
    first = client.get(QUEUE)
    assert first.context["since"] is None and not first.context["queue"].rows[0].is_new
    LeadFactory(owner=sales_rep, sales_ready=True, status=LeadStatus.MARKETING_QUALIFIED, topic="Fresh")
    second = client.get(QUEUE)
    assert second.context["since"] is not None
    assert [(lead.topic, lead.is_new) for lead in second.context["queue"].rows] == [
        ("Fresh", True),
        ("Data Platform", False),
    ]
    assert second.context["new_count"] == 1


def test_open_tasks_sorted_by_due_date_overdue_marked(client, sales_rep):
    now = timezone.now()
    lead = LeadFactory(owner=sales_rep)
    later = services.task_create(
        actor=sales_rep, title="Next week", due_at=now + timedelta(days=7), lead=lead
    )
    overdue = services.task_create(
        actor=sales_rep, title="Overdue", due_at=now - timedelta(days=2), lead=lead
    )
    undated = services.task_create(actor=sales_rep, title="Some day", lead=lead)
    services.task_complete(
        actor=sales_rep, task=services.task_create(actor=sales_rep, title="Done", lead=lead)
    )
    client.force_login(sales_rep)
    page = client.get(QUEUE)
    assert [t.pk for t in page.context["open_tasks"]] == [overdue.pk, later.pk, undated.pk]
    assert "overdue</span>" in page.content.decode()
    response = client.post(reverse("sales:task-complete", args=[overdue.pk]), **HTMX)
    assert response.status_code == 200 and "Done" in response.content.decode()
    assert Task.objects.get(pk=overdue.pk).done_at is not None


def test_accept_then_qualify_from_the_row_with_htmx(client, sales_rep, handed_over):
    client.force_login(sales_rep)
    url = reverse("workspace:lead-action", args=[handed_over.pk, "accept"])
    row = client.post(url, {"next": QUEUE}, **HTMX)
    assert row.status_code == 200
    html = row.content.decode()
    assert html.lstrip().startswith("<tr") and "Lead accepted." in html and "Sales accepted" in html
    assert 'hx-post="' + reverse("workspace:lead-action", args=[handed_over.pk, "qualify"]) in html
    # A move the status does not allow: 400 with the reason in the row, nothing saved.
    again = client.post(url, {"next": QUEUE}, **HTMX)
    assert again.status_code == 400 and "row-message" in again.content.decode()
    bad = client.post(
        reverse("workspace:lead-action", args=[handed_over.pk, "qualify"]), {"amount": "lots"}, **HTMX
    )
    assert bad.status_code == 400
    qualified = client.post(
        reverse("workspace:lead-action", args=[handed_over.pk, "qualify"]),
        {"opportunity_name": "Deal"},
        **HTMX,
    )
    assert qualified.status_code == 200 and "opportunity “Deal” created" in qualified.content.decode()
    handed_over.refresh_from_db()
    assert handed_over.status == LeadStatus.QUALIFIED
