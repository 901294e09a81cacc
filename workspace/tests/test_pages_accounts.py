"""Accounts (list and page) and the opportunity list."""

import pytest
from django.urls import reverse

from crm_core.models import OpportunityStage, OpportunityStatus
from crm_core.tests.factories import AccountFactory, ContactFactory, LeadFactory, OpportunityFactory

pytestmark = pytest.mark.django_db

ACCOUNTS = reverse("workspace:account-list")
OPPORTUNITIES = reverse("workspace:opportunity-list")


def names(response) -> list[str]:
    return [row.name for row in response.context["page"].rows]


def test_the_account_list_searches_filters_and_pages(client, sales_rep):
    AccountFactory(name="Contoso Ltd", industry="software", country="Germany")
    AccountFactory(name="Contoso Pharma", industry="healthcare", country="France")
    AccountFactory(name="Fabrikam", industry="software", country="Germany")
    client.force_login(sales_rep)
    assert names(client.get(ACCOUNTS)) == ["Contoso Ltd", "Contoso Pharma", "Fabrikam"]
    assert names(client.get(ACCOUNTS + "?q=contoso")) == ["Contoso Ltd", "Contoso Pharma"]
    assert names(client.get(ACCOUNTS + "?industry=software")) == ["Contoso Ltd", "Fabrikam"]
    assert names(client.get(ACCOUNTS + "?country=germany&q=ltd")) == ["Contoso Ltd"]
    assert client.get(ACCOUNTS + "?industry=crypto").status_code == 400
    assert client.get(ACCOUNTS + "?cursor=nope").status_code == 400


def test_the_account_list_pages_by_keyset(client, marketer):
    for n in range(55):
        AccountFactory(name=f"Account {n:02d}")
    client.force_login(marketer)
    first = client.get(ACCOUNTS + "?industry=")
    assert len(first.context["page"].rows) == 50 and first.context["page"].next_link
    second = client.get(ACCOUNTS + first.context["page"].next_link)
    assert names(second) == [f"Account {n}" for n in range(50, 55)]
    assert "industry=" in first.context["page"].next_link  # the filters survive paging


def _populate(account, rows):
    for n in range(rows):
        contact = ContactFactory(parent_account=account, last_name=f"Person{n:02d}")
        ContactFactory(parent_account=account, marketing_only=True, last_name=f"Hidden{n:02d}")
        LeadFactory(parent_account=account, parent_contact=contact, topic=f"Lead {n:02d}")
        OpportunityFactory(account=account, contact=contact, name=f"Deal {n:02d}")


def test_the_account_page_shows_its_contacts_leads_and_opportunities(client, sales_rep):
    account = AccountFactory(name="Contoso Ltd", industry="software")
    _populate(account, 2)
    other = AccountFactory(name="Other")
    ContactFactory(parent_account=other, last_name="Stranger")
    client.force_login(sales_rep)
    page = client.get(reverse("workspace:account-detail", args=[account.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert "Contoso Ltd" in html and "Software" in html
    assert "Person00" in html and "Person01" in html and "Stranger" not in html
    assert "Hidden00" not in html  # the sales view leaves marketing-only contacts out
    assert "Lead 00" in html and "Deal 01" in html
    everyone = client.get(reverse("workspace:account-detail", args=[account.pk]) + "?view=marketing")
    assert b"Hidden00" in everyone.content
    assert client.get(reverse("workspace:account-detail", args=[account.pk]) + "?view=x").status_code == 400
    assert client.get(reverse("workspace:account-detail", args=[999_999])).status_code == 404


def test_marketers_see_all_contacts_of_an_account(client, marketer):
    account = AccountFactory()
    _populate(account, 1)
    client.force_login(marketer)
    assert b"Hidden00" in client.get(reverse("workspace:account-detail", args=[account.pk])).content


def test_the_account_page_lists_are_keyset_paged(client, sales_rep):
    account = AccountFactory()
    _populate(account, 25)
    client.force_login(sales_rep)
    url = reverse("workspace:account-detail", args=[account.pk])
    first = client.get(url)
    sections = first.context["sections"]
    assert [c.last_name for c in sections["contacts"].rows] == [f"Person{n:02d}" for n in range(20)]
    assert [lead.topic for lead in sections["leads"].rows][0] == "Lead 24"  # newest first
    second = client.get(url + sections["contacts"].next_link)
    assert [c.last_name for c in second.context["sections"]["contacts"].rows] == [
        f"Person{n:02d}" for n in range(20, 25)
    ]
    # the other lists stay on their first page
    assert second.context["sections"]["leads"].rows[0].topic == "Lead 24"
    assert client.get(url + "?lcursor=bad").status_code == 400


@pytest.mark.parametrize("rows", [3, 30])
def test_the_account_page_costs_a_fixed_number_of_queries(client, sales_rep, django_assert_num_queries, rows):
    account = AccountFactory()
    _populate(account, rows)
    client.force_login(sales_rep)
    # session, user, user + group permissions, account, roles, contacts, leads, opportunities
    with django_assert_num_queries(9):
        assert client.get(reverse("workspace:account-detail", args=[account.pk])).status_code == 200


def test_the_opportunity_list_filters_and_pages(client, sales_rep):
    account = AccountFactory()
    OpportunityFactory(name="Won deal", status=OpportunityStatus.WON, stage=OpportunityStage.CLOSED)
    mine = OpportunityFactory(
        name="My deal", owner=sales_rep, stage=OpportunityStage.PROPOSAL, account=account
    )
    OpportunityFactory(name="Open deal")
    client.force_login(sales_rep)
    assert names(client.get(OPPORTUNITIES)) == ["Open deal", "My deal", "Won deal"]
    assert names(client.get(OPPORTUNITIES + "?status=won")) == ["Won deal"]
    assert names(client.get(OPPORTUNITIES + "?stage=proposal")) == ["My deal"]
    assert names(client.get(OPPORTUNITIES + "?mine=on")) == ["My deal"]
    assert names(client.get(OPPORTUNITIES + f"?account={account.pk}")) == [mine.name]
    assert client.get(OPPORTUNITIES + "?stage=won").status_code == 400
    for n in range(60):
        OpportunityFactory(name=f"Bulk {n}")
    first = client.get(OPPORTUNITIES)
    second = client.get(OPPORTUNITIES + first.context["page"].next_link)
    assert len(first.context["page"].rows) == 50 and len(second.context["page"].rows) == 13
    assert not {o.pk for o in first.context["page"].rows} & {o.pk for o in second.context["page"].rows}
