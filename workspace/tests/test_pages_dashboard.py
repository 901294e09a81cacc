"""The marketing dashboard: funnel, orphan-lead workflow, segment sizes and the score histogram."""

import json
from datetime import timedelta

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from crm_core.models import Contact, ContactOrigin, Lead, LeadStatus, Opportunity, OpportunityStatus
from crm_core.tests.factories import ContactFactory, LeadFactory, OpportunityFactory, OrphanLeadFactory
from segments.models import Segment, SegmentStatus
from workspace.dashboard import Period

pytestmark = pytest.mark.django_db

DASHBOARD = reverse("workspace:dashboard")


def aged(instance, days):
    """Move a record's created_at `days` into the past."""
    type(instance).objects.filter(pk=instance.pk).update(created_at=timezone.now() - timedelta(days=days))
    return instance


def populate(rows: int = 1):
    for _ in range(rows):
        contact = ContactFactory()
        ContactFactory(origin=ContactOrigin.ORPHAN_LEAD_WORKFLOW, marketing_only=True)
        for status, score in (
            (LeadStatus.NEW, -5),
            (LeadStatus.MARKETING_QUALIFIED, 110),
            (LeadStatus.SALES_ACCEPTED, 130),
            (LeadStatus.QUALIFIED, 250),
            (LeadStatus.DISQUALIFIED, 30),
        ):
            LeadFactory(parent_contact=contact, status=status, score=score)
        OrphanLeadFactory(score=0)
        OpportunityFactory(contact=contact)
        OpportunityFactory(contact=contact, status=OpportunityStatus.WON)


def test_the_funnel_counts_records_created_in_the_period(client, marketer):
    populate()
    # Outside the default 90 days: counted nowhere except "orphan leads still unlinked" (any age).
    old = aged(ContactFactory(), 200)
    aged(ContactFactory(origin=ContactOrigin.ORPHAN_LEAD_WORKFLOW), 200)
    aged(LeadFactory(status=LeadStatus.QUALIFIED, parent_contact=old), 200)
    aged(OrphanLeadFactory(), 200)
    aged(OpportunityFactory(status=OpportunityStatus.WON, contact=old), 200)
    client.force_login(marketer)

    response = client.get(DASHBOARD)
    assert response.status_code == 200
    funnel = {step["label"]: step["count"] for step in response.context["funnel"]}
    assert funnel == {
        "Contacts": 2,
        "Leads": 6,
        "Marketing qualified": 3,
        "Sales accepted": 2,
        "Opportunities": 2,
        "Won": 1,
    }
    totals = response.context["totals"]
    assert totals["orphan_workflow_contacts"] == 1 and totals["unlinked_orphans"] == 2
    histogram = {row["label"]: row["count"] for row in response.context["histogram"]}
    assert histogram == {
        "< 0": 1, "0-24": 1, "25-49": 1, "50-74": 0, "75-99": 0, "100-149": 2, "150-199": 0, "200+": 1,
    }  # fmt: skip
    html = response.content.decode()
    data = json.loads(
        html.split('<script id="dashboard-data" type="application/json">')[1].split("</script>")[0]
    )
    assert data["funnel"]["values"] == [2, 6, 3, 2, 2, 1]
    assert data["scores"]["values"] == [1, 1, 1, 0, 0, 2, 0, 1]
    assert "workspace/dashboard.js" in html and "vendor/chartjs/chart.umd.min.js" in html
    assert 'id="funnel-chart"' in html

    wide = client.get(DASHBOARD, {"date_from": (timezone.localdate() - timedelta(days=365)).isoformat()})
    assert {s["label"]: s["count"] for s in wide.context["funnel"]}["Contacts"] == 4
    assert wide.context["totals"]["orphan_workflow_contacts"] == 2


def test_the_period_is_inclusive_of_both_days(client, marketer):
    contact = ContactFactory()
    day = timezone.localtime(Contact.objects.get(pk=contact.pk).created_at).date()
    client.force_login(marketer)
    same_day = client.get(DASHBOARD, {"date_from": day.isoformat(), "date_to": day.isoformat()})
    assert same_day.context["totals"]["contacts"] == 1
    before = (day - timedelta(days=1)).isoformat()
    assert client.get(DASHBOARD, {"date_from": before, "date_to": before}).context["totals"]["contacts"] == 0


@pytest.mark.parametrize(
    "query",
    [
        {"date_from": "yesterday"},
        {"date_to": "2025-02-30"},
        {"date_from": "2025-03-01", "date_to": "2025-02-01"},
        {"date_from": "1900-01-01", "date_to": "2025-01-01"},
    ],
)
def test_bad_periods_are_a_400_with_a_message(client, marketer, query):
    client.force_login(marketer)
    response = client.get(DASHBOARD, query)
    assert response.status_code == 400
    assert list(get_messages(response.wsgi_request))
    assert b"dashboard-data" not in response.content


def test_the_largest_live_segments(client, marketer):
    for n in range(12):
        Segment.objects.create(name=f"Live {n:02d}", status=SegmentStatus.LIVE, member_count=n * 10)
    Segment.objects.create(name="Draft giant", status=SegmentStatus.DRAFT, member_count=10**6)
    client.force_login(marketer)
    segments = client.get(DASHBOARD).context["segments"]
    assert [s.name for s in segments] == [f"Live {n:02d}" for n in range(11, 1, -1)]


def test_only_marketing_and_admin_see_the_dashboard(client, sales_rep, admin_user):
    assert client.get(DASHBOARD)["Location"].startswith("/accounts/login/")
    client.force_login(sales_rep)
    assert client.get(DASHBOARD).status_code == 403
    client.force_login(admin_user)
    assert client.get(DASHBOARD).status_code == 200


@pytest.mark.parametrize("rows", [3, 30])
@pytest.mark.parametrize("path", ["postgresql", "portable"])
def test_the_dashboard_costs_a_fixed_number_of_queries(
    request, client, marketer, django_assert_num_queries, rows, path
):
    if path == "portable":
        request.getfixturevalue("portable_path")
    populate(rows)
    for n in range(rows):
        Segment.objects.create(name=f"S{n}", status=SegmentStatus.LIVE, member_count=n)
    assert Lead.objects.count() == 6 * rows and Opportunity.objects.count() == 2 * rows
    client.force_login(marketer)
    # session, user, roles, segments, 2 for the menu's perms; then the counts: PostgreSQL one query
    # over the per-day record counts; portable: contacts, leads (with the histogram), opportunities,
    # unlinked orphans.
    with django_assert_num_queries(7 if path == "postgresql" else 10):
        assert client.get(DASHBOARD).status_code == 200


@pytest.mark.parametrize("path", ["postgresql", "portable"])
def test_the_numbers_are_the_same_on_both_paths_in_any_time_zone(request, client, marketer, path, settings):
    """A period of whole local days in a zone other than UTC: the counts' whole UTC days plus the
    records of the part-days at both ends."""
    if path == "portable":
        request.getfixturevalue("portable_path")
    settings.TIME_ZONE = "Asia/Kolkata"  # UTC+05:30: every local day straddles two UTC days
    populate(2)
    for hours in (3, 20, 30, 47, 80):
        lead = LeadFactory(score=hours)
        Lead.objects.filter(pk=lead.pk).update(created_at=timezone.now() - timedelta(hours=hours))
    client.force_login(marketer)
    today = timezone.localdate()
    for days in (0, 1, 2, 5):
        period = Period(date_from=today - timedelta(days=days), date_to=today)
        query = {"date_from": period.date_from.isoformat(), "date_to": period.date_to.isoformat()}
        totals = client.get(DASHBOARD, query).context["totals"]
        in_period = Lead.objects.filter(created_at__gte=period.start, created_at__lt=period.end)
        assert totals["leads"] == in_period.count() > 0, days
        assert totals["bucket_1"] == in_period.filter(score__gte=0, score__lt=25).count(), days
