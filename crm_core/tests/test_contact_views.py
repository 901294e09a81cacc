"""The sales view of contacts leaves out marketing-only contacts; the marketing view shows all."""

import pytest
from django.urls import reverse

from crm_core.selectors import contact_default_view, contact_list
from crm_core.tests.factories import ContactFactory, SalesRepFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def contacts():
    return {"sales": ContactFactory(marketing_only=False), "marketing": ContactFactory(marketing_only=True)}


def test_the_sales_view_excludes_marketing_only_contacts_and_the_marketing_view_includes_them(
    contacts, marketer
):
    assert set(contact_list(viewer=marketer, view="sales")) == {contacts["sales"]}
    assert set(contact_list(viewer=marketer, view="marketing")) == set(contacts.values())


def test_sales_reps_default_to_the_sales_view_and_marketers_to_the_marketing_view(
    contacts, sales_rep, marketer, admin_user
):
    assert contact_default_view(viewer=sales_rep) == "sales"
    assert set(contact_list(viewer=sales_rep)) == {contacts["sales"]}
    assert set(contact_list(viewer=marketer)) == set(contacts.values())
    assert set(contact_list(viewer=admin_user)) == set(contacts.values())
    assert set(contact_list(viewer=sales_rep, view="marketing")) == set(contacts.values())


def test_an_unknown_view_is_refused(marketer):
    with pytest.raises(ValueError, match="unknown view"):
        contact_list(viewer=marketer, view="everyone")


def _listed(client, query: str = "") -> str:
    response = client.get(reverse("admin:crm_core_contact_changelist") + query)
    assert response.status_code == 200
    return response.content.decode()


def _change_link(contact) -> str:
    return reverse("admin:crm_core_contact_change", args=[contact.pk])


def test_the_admin_list_filter_switches_views(client, admin_user, contacts):
    client.force_login(admin_user)
    everyone = _listed(client)
    assert _change_link(contacts["sales"]) in everyone and _change_link(contacts["marketing"]) in everyone
    sales = _listed(client, "?view=sales")
    assert _change_link(contacts["sales"]) in sales and _change_link(contacts["marketing"]) not in sales
    assert _change_link(contacts["marketing"]) in _listed(client, "?view=marketing")


def test_a_sales_rep_in_admin_starts_in_the_sales_view(client, contacts):
    rep = SalesRepFactory(username="staffrep", is_staff=True)
    client.force_login(rep)
    page = _listed(client)
    assert _change_link(contacts["sales"]) in page and _change_link(contacts["marketing"]) not in page
    assert _change_link(contacts["marketing"]) in _listed(client, "?view=marketing")
