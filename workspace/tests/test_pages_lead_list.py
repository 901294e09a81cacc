"""The lead list: each filter reps and marketers use, the sales view, keyset pages, fixed queries."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from crm_core.models import IdentityStatus, LeadStatus
from crm_core.tests.factories import ContactFactory, LeadFactory, OrphanLeadFactory, SalesRepFactory

pytestmark = pytest.mark.django_db

LIST = reverse("workspace:lead-list")


def topics(response) -> set[str]:
    assert response.status_code == 200, response.content.decode()[:2000]
    return {lead.topic for lead in response.context["rows"]}


@pytest.fixture
def leads(sales_rep):
    other = SalesRepFactory(username="other")
    marketing_contact = ContactFactory(marketing_only=True)
    return {
        "mine": LeadFactory(topic="Mine", owner=sales_rep, status=LeadStatus.SALES_ACCEPTED, score=50),
        "theirs": LeadFactory(topic="Theirs", owner=other, score=120, sales_ready=True),
        "orphan": OrphanLeadFactory(topic="Orphan", score=5),
        "conflict": OrphanLeadFactory(topic="Conflict", identity_status=IdentityStatus.CONFLICT),
        "nurture": LeadFactory(topic="Nurture", parent_contact=marketing_contact, status=LeadStatus.NURTURE),
        "ready": LeadFactory(topic="Ready", parent_contact=marketing_contact, sales_ready=True, score=150),
    }


def test_each_filter_keeps_what_it_says(client, marketer, sales_rep, leads):
    client.force_login(sales_rep)
    assert topics(client.get(LIST, {"view": "marketing"})) == {t.topic for t in leads.values()}
    assert topics(client.get(LIST, {"owner": "me"})) == {"Mine"}
    other = leads["theirs"].owner
    assert topics(client.get(LIST, {"owner": str(other.pk)})) == {"Theirs"}
    assert topics(client.get(LIST, {"owner": "none", "view": "marketing"})) == {
        "Orphan",
        "Conflict",
        "Nurture",
        "Ready",
    }
    assert topics(client.get(LIST, {"status": "sales_accepted"})) == {"Mine"}
    assert topics(client.get(LIST, {"q": "theirs"})) == {"Theirs"}  # the whole topic, any case
    assert topics(client.get(LIST, {"score_min": "50", "score_max": "120"})) == {"Mine", "Theirs"}
    assert topics(client.get(LIST, {"sales_ready": "yes"})) == {"Theirs", "Ready"}
    assert topics(client.get(LIST, {"orphan": "yes"})) == {"Orphan", "Conflict"}
    assert topics(client.get(LIST, {"orphan": "no", "view": "marketing"})) == {
        "Mine",
        "Theirs",
        "Nurture",
        "Ready",
    }
    assert topics(client.get(LIST, {"identity_conflict": "yes"})) == {"Conflict"}


def test_the_sales_view_leaves_out_marketings_unowned_leads_of_marketing_only_contacts(
    client, sales_rep, marketer, leads
):
    client.force_login(sales_rep)  # a rep starts in the sales view
    response = client.get(LIST)
    assert topics(response) == {"Mine", "Theirs", "Orphan", "Conflict", "Ready"}
    assert "Sales view" in response.content.decode()
    client.force_login(marketer)  # a marketer in the marketing view
    assert "Nurture" in topics(client.get(LIST))


@pytest.mark.parametrize(
    "query, field",
    [
        ({"status": "won"}, "status"),
        ({"score_min": "lots"}, "score_min"),
        ({"owner": "999999"}, "owner"),
        ({"orphan": "maybe"}, "orphan"),
        ({"shoe_size": "9"}, "__all__"),
        ({"cursor": "garbage"}, "cursor"),
        ({"ordering": "score"}, "ordering"),  # score has no index: never an ordering
        ({"ordering": "topic"}, "ordering"),  # few distinct topics: no fast (topic, id) order
    ],
)
def test_a_bad_filter_is_a_400_naming_it(client, sales_rep, query, field):
    client.force_login(sales_rep)
    response = client.get(LIST, query)
    assert response.status_code == 400
    assert field in response.context["form"].errors


@pytest.mark.parametrize("ordering", ["id", "-id"])
def test_pages_by_keyset_in_every_ordering(client, marketer, monkeypatch, ordering):
    from workspace.views import lead_list

    made = [LeadFactory(topic=f"Topic {n}").topic for n in range(7)]
    client.force_login(marketer)
    monkeypatch.setattr(lead_list, "PAGE_SIZE", 3)
    seen, pages = [], 0
    response = client.get(LIST, {"ordering": ordering})
    while True:
        pages += 1
        seen += [lead.topic for lead in response.context["rows"]]
        link = response.context["page"].next_link
        if not link:
            break
        response = client.get(LIST + link)
    assert pages == 3
    assert seen == (made if ordering == "id" else made[::-1])


def test_the_list_costs_the_same_queries_whatever_the_page_holds(client, marketer):
    client.force_login(marketer)
    LeadFactory()
    client.get(LIST)  # warm the session and content types
    with CaptureQueriesContext(connection) as few:
        assert client.get(LIST).status_code == 200
    for _ in range(10):
        LeadFactory(parent_contact__parent_account=None)
        OrphanLeadFactory()
    with CaptureQueriesContext(connection) as many:
        assert client.get(LIST).status_code == 200
    assert len(many) == len(few)
