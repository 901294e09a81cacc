"""List pages: keyset cursors with `?ordering=`, numbered pages, page sizes, and a fixed query count."""

import datetime as dt

import pytest
from django.utils import timezone

from crm_core.models import Contact, Lead
from crm_core.tests.factories import (
    AccountFactory,
    ContactFactory,
    InteractionFactory,
    LeadFactory,
    OpportunityFactory,
    SubscriptionListFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


def walk(client, url, *, backwards=False):
    """Every row of a list, following next links (or, from the end, previous links)."""
    rows, pages = [], 0
    while url:
        response = client.get(url)
        assert response.status_code == 200, response.content
        body = response.json()
        rows.extend(reversed(body["results"]) if backwards else body["results"])
        url = body["previous" if backwards else "next"]
        pages += 1
        assert pages < 100
    return rows, pages


def test_cursor_pages_cover_every_row_once_in_both_directions(admin_client_api):
    contacts = ContactFactory.create_batch(7)
    rows, pages = walk(admin_client_api, "/api/contacts/?page_size=3")
    assert [r["id"] for r in rows] == sorted((c.pk for c in contacts), reverse=True)
    assert pages == 3
    first = admin_client_api.get("/api/contacts/?page_size=3").json()
    assert first["previous"] is None and "count" not in first
    last = admin_client_api.get(admin_client_api.get(first["next"]).json()["next"]).json()
    assert last["next"] is None and len(last["results"]) == 1
    # Back from the last page to the first one.
    back_rows, _ = walk(admin_client_api, last["previous"], backwards=True)
    assert [r["id"] for r in back_rows] == [r["id"] for r in reversed(rows[:6])]


@pytest.mark.parametrize("ordering", ["created_at", "-created_at", "topic", "-topic", "id"])
def test_ordering_with_many_ties_is_total_and_stable_across_cursor_pages(admin_client_api, ordering):
    # Many equal sort values: the id tie-breaker must neither skip nor repeat rows between pages.
    same_time = timezone.now() - dt.timedelta(days=3)
    leads = [LeadFactory(score=score, topic=f"T{score % 2}") for score in [5, 1, 5, 5, 3, 1, 5, 3, 5, 1, 5]]
    Lead.objects.filter(pk__in=[lead.pk for lead in leads[:6]]).update(created_at=same_time)
    rows, _ = walk(admin_client_api, f"/api/leads/?ordering={ordering}&page_size=2")
    field = ordering.lstrip("-")
    descending = ordering.startswith("-")
    stored = {lead.pk: lead for lead in Lead.objects.all()}
    expected = sorted(
        stored.values(),
        key=lambda lead: (getattr(lead, field), lead.pk),
        reverse=descending,
    )
    assert [r["id"] for r in rows] == [lead.pk for lead in expected]
    # And walking back from the end gives the same order.
    last_url = None
    url = f"/api/leads/?ordering={ordering}&page_size=2"
    while url:
        body = admin_client_api.get(url).json()
        last_url, url = url, body["next"]
    back_rows, _ = walk(admin_client_api, admin_client_api.get(last_url).json()["previous"], backwards=True)
    tail = len(rows) - len(admin_client_api.get(last_url).json()["results"])
    assert [r["id"] for r in back_rows] == [r["id"] for r in reversed(rows[:tail])]


def test_a_cursor_is_only_valid_for_the_ordering_it_was_made_for(admin_client_api):
    LeadFactory.create_batch(3)
    next_url = admin_client_api.get("/api/leads/?ordering=topic&page_size=1").json()["next"]
    swapped = next_url.replace("ordering=topic", "ordering=-created_at")
    assert admin_client_api.get(swapped).status_code == 404
    assert admin_client_api.get(next_url).status_code == 200


def test_ordering_is_limited_to_indexed_fields(admin_client_api):
    for path, allowed, refused in [
        ("contacts", ["last_name", "-created_at", "id"], ["email", "updated_at", "first_name"]),
        ("leads", ["-topic", "created_at"], ["score", "-score", "email", "status", "last_name"]),
        ("interactions", ["-id"], ["occurred_at", "kind"]),
        ("accounts", ["name", "-created_at"], ["website"]),
    ]:
        for term in allowed:
            assert admin_client_api.get(f"/api/{path}/?ordering={term}").status_code == 200, (path, term)
        for term in refused:
            response = admin_client_api.get(f"/api/{path}/?ordering={term}")
            assert response.status_code == 400 and "ordering" in response.json(), (path, term)


def test_the_sales_view_pages_leave_marketing_only_contacts_out(sales_client):
    kept = [ContactFactory(marketing_only=i % 2 == 0) for i in range(9)]
    rows, _ = walk(sales_client, "/api/contacts/?page_size=2&ordering=last_name")
    assert {r["id"] for r in rows} == {c.pk for c in kept if not c.marketing_only}
    assert all(not r["marketing_only"] for r in rows)


def test_page_size_is_capped_at_500(admin_client_api):
    Contact.objects.bulk_create([Contact(email=f"p{i}@example.com") for i in range(510)])
    assert len(admin_client_api.get("/api/contacts/?page_size=1000").json()["results"]) == 500
    assert len(admin_client_api.get("/api/contacts/?page_size=20").json()["results"]) == 20
    assert len(admin_client_api.get("/api/contacts/").json()["results"]) == 50


def test_numbered_pages_carry_a_count(admin_client_api):
    AccountFactory.create_batch(5)
    body = admin_client_api.get("/api/accounts/?page_size=2&page=2").json()
    assert body["count"] == 5 and len(body["results"]) == 2 and body["next"] and body["previous"]
    assert admin_client_api.get("/api/accounts/?page=99").status_code == 404


# --- query counts: a page costs the same whatever its size ------------------------------------------

# Authentication and the role check: the user's and their groups' permissions (2 queries).
PERMISSION_QUERIES = 2


def _fill(kind: str, n: int):
    owner = UserFactory()
    if kind == "contacts":
        account = AccountFactory()
        ContactFactory.create_batch(n, parent_account=account, owner=owner, guardian=ContactFactory())
    elif kind == "leads":
        LeadFactory.create_batch(n, owner=owner, parent_account=AccountFactory())
    elif kind == "interactions":
        InteractionFactory.create_batch(n)
    elif kind == "accounts":
        AccountFactory.create_batch(n, owner=owner, parent_account=AccountFactory())
    elif kind == "opportunities":
        OpportunityFactory.create_batch(
            n, owner=owner, account=AccountFactory(), originating_lead=LeadFactory()
        )
    elif kind == "subscription-lists":
        SubscriptionListFactory.create_batch(n)


# rows of the list, plus a COUNT for numbered pages; contacts look the caller's roles up for the default view
LIST_QUERIES = {
    "contacts": 2,
    "leads": 1,
    "interactions": 1,
    "accounts": 2,
    "opportunities": 2,
    "subscription-lists": 2,
}


@pytest.mark.parametrize("kind", list(LIST_QUERIES))
def test_a_list_page_costs_a_fixed_number_of_queries(kind, marketer, django_assert_max_num_queries):
    from rest_framework.test import APIClient

    _fill(kind, 60)
    client = APIClient()
    client.force_authenticate(marketer)
    expected = PERMISSION_QUERIES + LIST_QUERIES[kind]
    with django_assert_max_num_queries(expected):
        small = client.get(f"/api/{kind}/?page_size=5")
    assert small.status_code == 200 and len(small.json()["results"]) == 5
    client = APIClient()
    client.force_authenticate(marketer)
    with django_assert_max_num_queries(expected):
        large = client.get(f"/api/{kind}/?page_size=500")
    assert len(large.json()["results"]) >= 60
    if kind in ("contacts", "leads"):
        owner = UserFactory()
        with django_assert_max_num_queries(expected + 1):  # + one per FK filter checking the id exists
            filtered = client.get(f"/api/{kind}/?page_size=500&owner={owner.pk}&ordering=-created_at")
        assert filtered.status_code == 200
