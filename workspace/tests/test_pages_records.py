"""Creating and editing contacts, accounts, leads and opportunities in the workspace: the roles'
rules (crm_core/access.py), field errors with nothing saved, the services' trail and notices, and
the saved message after the redirect."""

from decimal import Decimal

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from crm_core.models import Account, Contact, Lead, LeadStatus, Opportunity
from crm_core.tests.factories import (
    AccountFactory,
    ContactFactory,
    LeadFactory,
    OpportunityFactory,
    SalesRepFactory,
)
from crm_core.tests.notices import notices_sent

pytestmark = pytest.mark.django_db


def messages_of(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def field_errors(response) -> dict:
    return {name: list(errors) for name, errors in response.context["form"].errors.items()}


# --- Contacts ------------------------------------------------------------------------------------


def test_a_rep_creates_a_contact_and_lands_on_its_page_with_a_message(client, sales_rep):
    account = AccountFactory(name="Contoso")
    client.force_login(sales_rep)
    assert client.get(reverse("workspace:contact-create")).status_code == 200

    response = client.post(
        reverse("workspace:contact-create"),
        {
            "first_name": "Ann",
            "last_name": "Lee",
            "email": " Ann.Lee@Example.COM ",
            "parent_account": account.pk,
        },
    )

    contact = Contact.objects.get(last_name="Lee")
    assert response.status_code == 302
    assert response["Location"] == reverse("workspace:contact-detail", args=[contact.pk])
    assert contact.email == "ann.lee@example.com" and contact.parent_account == account
    assert contact.created_by == sales_rep and contact.updated_by == sales_rep
    assert messages_of(response) == ["Contact “Ann Lee” created."]


def test_editing_a_contact_saves_only_what_changed_and_announces_it(
    client, marketer, django_capture_on_commit_callbacks
):
    contact = ContactFactory(first_name="Ann", last_name="Lee", city="Bonn")
    client.force_login(marketer)
    form = client.get(reverse("workspace:contact-edit", args=[contact.pk]))
    assert form.status_code == 200 and 'value="Bonn"' in form.content.decode()
    data = {name: value for name, value in form.context["form"].initial.items() if value is not None}

    with notices_sent() as seen, django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("workspace:contact-edit", args=[contact.pk]), {**data, "city": "Köln"})

    assert response.status_code == 302
    contact.refresh_from_db()
    assert contact.city == "Köln" and contact.updated_by == marketer
    [notice] = [n for n in seen if n.entity == "contact"]
    assert set(notice.fields) == {"city"} and set(notice.ids) == {contact.pk}
    assert messages_of(response) == [f"Contact “{contact}” saved."]


def test_a_taken_email_is_an_error_at_the_field_and_nothing_is_saved(client, sales_rep):
    ContactFactory(email="taken@example.com")
    contact = ContactFactory(first_name="Bea", email="bea@example.com")
    client.force_login(sales_rep)

    response = client.post(
        reverse("workspace:contact-edit", args=[contact.pk]),
        {
            "first_name": "Changed",
            "email": "TAKEN@example.com",
            "parent_account": "999999",
            "job_role": "pilot",
        },
    )

    assert response.status_code == 400
    errors = field_errors(response)
    assert errors["email"] == ["A contact with this email already exists."]
    assert errors["parent_account"] == ["No account has this id."]
    assert "job_role" in errors
    html = response.content.decode()
    assert 'data-testid="error-email"' in html and 'aria-invalid="true"' in html
    contact.refresh_from_db()
    assert contact.first_name == "Bea" and contact.email == "bea@example.com"


def test_bad_input_on_create_saves_nothing(client, marketer):
    client.force_login(marketer)
    response = client.post(reverse("workspace:contact-create"), {"first_name": "X", "email": "not an email"})
    assert response.status_code == 400
    assert "email" in field_errors(response)
    assert not Contact.objects.exists()


# --- Accounts and opportunities -------------------------------------------------------------------


def test_an_account_cannot_be_its_own_parent(client, sales_rep):
    account = AccountFactory(name="Contoso")
    client.force_login(sales_rep)
    response = client.post(
        reverse("workspace:account-edit", args=[account.pk]),
        {"name": "Contoso", "parent_account": account.pk},
    )
    assert response.status_code == 400
    assert field_errors(response) == {"parent_account": ["An account cannot be its own parent."]}
    assert Account.objects.get(pk=account.pk).parent_account is None


def test_a_rep_edits_an_opportunity_and_a_marketer_may_only_read_it(client, sales_rep, marketer):
    opportunity = OpportunityFactory(name="Big deal", amount=1000)
    edit = reverse("workspace:opportunity-edit", args=[opportunity.pk])
    client.force_login(marketer)
    page = client.get(reverse("workspace:opportunity-detail", args=[opportunity.pk]))
    assert page.status_code == 200
    assert "Your role may not change opportunities." in page.content.decode()
    assert 'data-testid="edit-record"' not in page.content.decode()
    refused = client.post(edit, {"name": "Hijacked", "stage": "proposal", "status": "open"})
    assert refused.status_code == 403
    assert "Your role may not change opportunities." in refused.content.decode()
    assert Opportunity.objects.get(pk=opportunity.pk).name == "Big deal"

    client.force_login(sales_rep)
    response = client.post(
        edit, {"name": "Bigger deal", "stage": "proposal", "status": "open", "amount": "2500.50"}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("workspace:opportunity-detail", args=[opportunity.pk])
    opportunity.refresh_from_db()
    assert (opportunity.name, opportunity.stage, opportunity.amount) == (
        "Bigger deal",
        "proposal",
        Decimal("2500.50"),
    )


def test_opportunity_names_link_to_their_page(client, sales_rep):
    opportunity = OpportunityFactory(name="Linked deal")
    client.force_login(sales_rep)
    link = reverse("workspace:opportunity-detail", args=[opportunity.pk])
    assert f'href="{link}"' in client.get(reverse("workspace:opportunity-list")).content.decode()
    contact_page = client.get(reverse("workspace:contact-detail", args=[opportunity.contact_id]))
    assert f'href="{link}"' in contact_page.content.decode()


# --- Leads ----------------------------------------------------------------------------------------


def test_a_rep_creates_an_orphan_lead_for_themselves(client, sales_rep, django_capture_on_commit_callbacks):
    client.force_login(sales_rep)
    form = client.get(reverse("workspace:lead-create"))
    assert form.context["form"]["owner"].value() == sales_rep.pk  # a rep's new lead starts as theirs

    with django_capture_on_commit_callbacks() as callbacks:
        response = client.post(
            reverse("workspace:lead-create"),
            {
                "topic": "Data Platform",
                "first_name": "Olga",
                "email": "Olga@Example.com",
                "source": "cold_call",
                "owner": sales_rep.pk,
            },
        )

    lead = Lead.objects.get(topic="Data Platform")
    assert response.status_code == 302
    assert response["Location"] == reverse("workspace:lead-detail", args=[lead.pk])
    assert lead.owner == sales_rep and lead.parent_contact is None and lead.status == LeadStatus.NEW
    assert lead.email == "olga@example.com" and lead.created_by == sales_rep
    assert callbacks  # the orphan-lead workflow is queued after the commit (lead_schedule_orphan_link)


def test_a_rep_may_not_create_a_lead_for_another_rep(client, sales_rep):
    other = SalesRepFactory(username="other")
    client.force_login(sales_rep)
    response = client.post(
        reverse("workspace:lead-create"), {"topic": "X", "source": "other", "owner": other.pk}
    )
    assert response.status_code == 403
    assert "only create leads for themselves" in response.content.decode()
    assert not Lead.objects.exists()


def test_a_marketer_creates_a_lead_for_any_rep(client, marketer, sales_rep):
    client.force_login(marketer)
    response = client.post(
        reverse("workspace:lead-create"), {"topic": "Webinar", "source": "web", "owner": sales_rep.pk}
    )
    assert response.status_code == 302
    assert Lead.objects.get(topic="Webinar").owner == sales_rep


def test_a_rep_may_not_edit_another_reps_lead_and_the_page_says_why(client, sales_rep):
    lead = LeadFactory(owner=SalesRepFactory(username="other"), topic="Theirs")
    client.force_login(sales_rep)
    page = client.get(reverse("workspace:lead-detail", args=[lead.pk])).content.decode()
    assert "only its owner or an admin can act on it or change it" in page
    assert reverse("workspace:lead-edit", args=[lead.pk]) not in page

    response = client.post(
        reverse("workspace:lead-edit", args=[lead.pk]), {"topic": "Mine now", "source": "web"}
    )
    assert response.status_code == 403
    assert "only its owner or an admin can change it" in response.content.decode()
    assert Lead.objects.get(pk=lead.pk).topic == "Theirs"


@pytest.mark.parametrize("who", ["marketer", "admin_user"])
def test_marketers_and_admins_edit_any_lead(client, request, who):
    lead = LeadFactory(owner=SalesRepFactory(username="other"), topic="Theirs", source="web")
    client.force_login(request.getfixturevalue(who))
    response = client.post(
        reverse("workspace:lead-edit", args=[lead.pk]),
        {"topic": "Renamed", "source": "web", "parent_contact": lead.parent_contact_id},
    )
    assert response.status_code == 302
    assert Lead.objects.get(pk=lead.pk).topic == "Renamed"


def test_the_lead_form_cannot_set_status_score_or_owner(client, sales_rep):
    lead = LeadFactory(owner=sales_rep, topic="Mine", source="web", score=10)
    client.force_login(sales_rep)
    response = client.post(
        reverse("workspace:lead-edit", args=[lead.pk]),
        {
            "topic": "Mine",
            "source": "web",
            "status": "qualified",
            "score": "999",
            "owner": "",
            "sales_ready": "on",
        },
    )
    assert response.status_code == 302
    lead.refresh_from_db()
    assert (lead.status, lead.score, lead.owner, lead.sales_ready) == (LeadStatus.NEW, 10, sales_rep, False)


def test_a_lead_in_identity_review_is_not_linked_from_the_form(client, marketer):
    contact = ContactFactory()
    lead = LeadFactory(parent_contact=None, identity_status="conflict", topic="Held", source="web")
    client.force_login(marketer)
    response = client.post(
        reverse("workspace:lead-edit", args=[lead.pk]),
        {"topic": "Held, renamed", "source": "web", "parent_contact": contact.pk},
    )
    assert response.status_code == 400
    assert field_errors(response)["parent_contact"] == [
        "This lead is held for identity review: link or dismiss it there."
    ]
    lead.refresh_from_db()
    assert lead.topic == "Held" and lead.parent_contact is None  # the whole write rolled back


def test_a_user_without_the_model_permission_cannot_open_the_forms(client):
    from crm_core.tests.factories import UserFactory

    client.force_login(UserFactory(username="nobody"))
    assert client.get(reverse("workspace:contact-create")).status_code == 403


def test_custom_fields_are_fields_of_the_forms_not_json(client, marketer):
    """Each custom field of the entity is a form field of its own (no JSON textarea); an edit saves
    the value given, keeps the others, and an emptied field clears its key."""
    from crm_core.services import custom_field_create

    custom_field_create(
        entity="contact", key="tier", label="Tier", field_type="choice", choices=["gold", "silver"]
    )
    custom_field_create(entity="contact", key="seats", label="Seats", field_type="number")
    contact = ContactFactory(first_name="Ann", custom={"seats": 5})
    client.force_login(marketer)
    page = client.get(reverse("workspace:contact-edit", args=[contact.pk]))
    html = page.content.decode()
    assert 'name="custom"' not in html and "<textarea" not in html
    assert 'name="custom.tier"' in html and 'name="custom.seats"' in html
    data = {name: value for name, value in page.context["form"].initial.items() if value is not None}
    data = {**data, "custom.tier": "gold", "custom.seats": "5"}

    response = client.post(reverse("workspace:contact-edit", args=[contact.pk]), data)

    assert response.status_code == 302
    contact.refresh_from_db()
    assert contact.custom == {"tier": "gold", "seats": 5}
    response = client.post(reverse("workspace:contact-edit", args=[contact.pk]), {**data, "custom.seats": ""})
    assert response.status_code == 302
    contact.refresh_from_db()
    assert contact.custom == {"tier": "gold"}
