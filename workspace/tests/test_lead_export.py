"""The lead list as CSV: the same filters and view as the list (a rep's sales view leaves out what
the list leaves out), a `custom.<key>` column per custom field of leads, bad filters a 400."""

import csv
import io

import pytest
from django.urls import reverse

from crm_core import custom_fields
from crm_core.models import LeadStatus
from crm_core.services import custom_field_create
from crm_core.tests.factories import ContactFactory, LeadFactory

pytestmark = pytest.mark.django_db

EXPORT = reverse("workspace:lead-export")


def exported(response) -> list[dict]:
    assert response.status_code == 200 and response["Content-Type"] == "text/csv"
    assert response["Content-Disposition"] == 'attachment; filename="leads.csv"'
    return list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))


@pytest.fixture
def leads(sales_rep):
    budget = custom_field_create(entity="lead", key="budget", label="Budget", field_type="number")
    tools = custom_field_create(entity="lead", key="tools", label="Tools", field_type="multi_choice",
                                choices=["crm", "erp"])  # fmt: skip
    hidden = ContactFactory(marketing_only=True)
    return {
        "mine": LeadFactory(topic="Mine", owner=sales_rep, status=LeadStatus.SALES_ACCEPTED,
                            custom={"budget": 2500, "tools": ["crm", "erp"]}),
        "open": LeadFactory(topic="Open", custom={}),
        "nurture": LeadFactory(topic="Nurture", parent_contact=hidden, status=LeadStatus.NURTURE),
        "fields": (budget, tools),
    }  # fmt: skip


def test_the_export_has_the_lists_leads_and_a_column_per_custom_field(client, marketer, leads):
    client.force_login(marketer)
    rows = exported(client.get(EXPORT, {"view": "marketing"}))
    assert [row["topic"] for row in rows] == ["Mine", "Open", "Nurture"]  # id order
    assert list(rows[0])[-2:] == ["custom.budget", "custom.tools"]
    mine = rows[0]
    assert (mine["status"], mine["owner"], mine["custom.budget"], mine["custom.tools"]) == (
        "sales_accepted", "rep", "2500", "crm;erp"
    )  # fmt: skip
    assert (rows[1]["custom.budget"], rows[1]["custom.tools"]) == ("", "")
    budget, tools = leads["fields"]  # each cell reads back as the stored value
    assert custom_fields.parse_cell(tools, mine["custom.tools"]) == ["crm", "erp"]
    assert custom_fields.parse_cell(budget, mine["custom.budget"]) == 2500
    assert [
        row["topic"] for row in exported(client.get(EXPORT, {"status": "nurture", "view": "marketing"}))
    ] == ["Nurture"]


def test_a_rep_exports_what_the_sales_view_shows(client, sales_rep, leads):
    client.force_login(sales_rep)
    listed = {lead.topic for lead in client.get(reverse("workspace:lead-list")).context["rows"]}
    assert {row["topic"] for row in exported(client.get(EXPORT))} == listed == {"Mine", "Open"}
    page = client.get(reverse("workspace:lead-list"), {"owner": "me"}).content.decode()
    assert f'href="{EXPORT}?owner=me"' in page
    assert [row["topic"] for row in exported(client.get(EXPORT, {"owner": "me"}))] == ["Mine"]


def test_bad_filters_are_a_400_naming_them(client, marketer, leads):
    client.force_login(marketer)
    response = client.get(EXPORT, {"score_min": "lots"})
    assert response.status_code == 400 and "score_min" in response.content.decode()
