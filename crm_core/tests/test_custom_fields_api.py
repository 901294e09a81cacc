"""Custom fields through the API: definitions (who may, fixed keys, 409 when in use), values under
`custom` (validated, merged on partial update, required on create) and `?custom.<key>=` filters."""

import pytest

from crm_core import custom_fields
from crm_core.models import Contact, CustomField, Lead
from crm_core.services import custom_field_create
from crm_core.sqlpath import portable_path
from crm_core.tests.factories import AccountFactory, ContactFactory, LeadFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def fields():
    return {
        "tier": custom_field_create(
            entity="contact", key="tier", label="Tier", field_type="choice", choices=["gold", "silver"]
        ),
        "seats": custom_field_create(entity="contact", key="seats", label="Seats", field_type="number"),
        "renewal": custom_field_create(entity="contact", key="renewal", label="Renewal", field_type="date"),
        "vip": custom_field_create(entity="contact", key="vip", label="VIP", field_type="boolean"),
        "tools": custom_field_create(
            entity="contact", key="tools", label="Tools", field_type="multi_choice", choices=["crm", "erp"]
        ),
        "nick": custom_field_create(entity="contact", key="nick", label="Nickname", field_type="text"),
    }


def test_marketer_defines_a_field_and_a_rep_may_only_read(marketer_client, sales_client):
    body = {"entity": "lead", "key": "budget", "label": "Budget", "field_type": "number"}
    made = marketer_client.post("/api/custom-fields/", body, format="json")
    assert made.status_code == 201, made.data
    assert made.data["name"] == "custom.budget"
    assert sales_client.get("/api/custom-fields/?entity=lead").data["results"][0]["key"] == "budget"
    refused = sales_client.post("/api/custom-fields/", {**body, "key": "other"}, format="json")
    assert refused.status_code == 403
    again = marketer_client.post("/api/custom-fields/", body, format="json")
    assert again.status_code == 400 and "key" in again.data


def test_key_and_type_are_fixed_and_a_label_rename_changes_nothing_else(marketer_client, fields):
    url = f"/api/custom-fields/{fields['tier'].pk}/"
    assert marketer_client.patch(url, {"key": "level"}, format="json").status_code == 400
    assert marketer_client.patch(url, {"field_type": "text"}, format="json").status_code == 400
    contact = ContactFactory(custom={"tier": "gold"})
    renamed = marketer_client.patch(url, {"label": "Customer tier"}, format="json")
    assert renamed.status_code == 200 and renamed.data["label"] == "Customer tier"
    assert marketer_client.get("/api/contacts/?custom.tier=gold").data["results"][0]["id"] == contact.pk


def test_bad_definitions_are_400_naming_the_field(marketer_client):
    for body, where in (
        ({"entity": "contact", "key": "Bad Key", "label": "x", "field_type": "text"}, "key"),
        ({"entity": "contact", "key": "k", "label": "x", "field_type": "choice"}, "choices"),
        ({"entity": "contact", "key": "k", "label": "x", "field_type": "text", "choices": ["a"]}, "choices"),
        ({"entity": "opportunity", "key": "k", "label": "x", "field_type": "text"}, "entity"),
        ({"entity": "contact", "key": "k", "label": "x", "field_type": "colour"}, "field_type"),
    ):
        response = marketer_client.post("/api/custom-fields/", body, format="json")
        assert response.status_code == 400 and where in response.data, (body, response.data)


def test_values_are_validated_per_key(marketer_client, fields):
    good = {"tier": "gold", "seats": 12, "renewal": "2027-03-01", "vip": True, "tools": ["erp", "crm"]}
    made = marketer_client.post("/api/contacts/", {"email": "a@x.com", "custom": good}, format="json")
    assert made.status_code == 201, made.data
    assert made.data["custom"] == {**good, "tools": ["crm", "erp"]}
    for custom, key in (
        ({"shoe_size": 44}, "shoe_size"),
        ({"tier": "bronze"}, "tier"),
        ({"seats": "many"}, "seats"),
        ({"seats": True}, "seats"),
        ({"renewal": "31/01/2027"}, "renewal"),
        ({"vip": "yes"}, "vip"),
        ({"tools": "crm"}, "tools"),
    ):
        response = marketer_client.post(
            "/api/contacts/", {"email": "b@x.com", "custom": custom}, format="json"
        )
        assert response.status_code == 400 and key in response.data["custom"], (custom, response.data)
    assert marketer_client.post("/api/contacts/", {"custom": [1]}, format="json").status_code == 400
    assert not Contact.objects.filter(email="b@x.com").exists()


def test_partial_update_merges_and_null_removes(marketer_client, fields):
    contact = ContactFactory(custom={"tier": "gold", "seats": 3})
    url = f"/api/contacts/{contact.pk}/"
    response = marketer_client.patch(url, {"custom": {"seats": 5, "nick": "Al"}}, format="json")
    assert response.status_code == 200, response.data
    assert response.data["custom"] == {"tier": "gold", "seats": 5, "nick": "Al"}
    response = marketer_client.patch(url, {"custom": {"tier": None, "nick": ""}}, format="json")
    assert response.data["custom"] == {"seats": 5}
    contact.refresh_from_db()
    assert contact.custom == {"seats": 5}


def test_required_on_create_only(marketer_client):
    custom_field_create(entity="lead", key="budget", label="Budget", field_type="number", required=True)
    refused = marketer_client.post("/api/leads/", {"topic": "T"}, format="json")
    assert refused.status_code == 400 and "budget" in refused.data["custom"]
    made = marketer_client.post("/api/leads/", {"topic": "T", "custom": {"budget": 10}}, format="json")
    assert made.status_code == 201
    lead = Lead.objects.get(pk=made.data["id"])
    patched = marketer_client.patch(f"/api/leads/{lead.pk}/", {"topic": "U"}, format="json")
    assert patched.status_code == 200 and patched.data["custom"] == {"budget": 10}


def test_accounts_carry_custom_values(marketer_client):
    custom_field_create(entity="account", key="region", label="Region", field_type="text")
    account = AccountFactory()
    response = marketer_client.patch(
        f"/api/accounts/{account.pk}/", {"custom": {"region": "EMEA"}}, format="json"
    )
    assert response.status_code == 200 and response.data["custom"] == {"region": "EMEA"}
    assert marketer_client.get("/api/accounts/?custom.region=EMEA").data["results"][0]["id"] == account.pk


@pytest.mark.parametrize("portable", [False, True], ids=["postgres", "portable"])
def test_filters_on_each_type(marketer_client, fields, portable):
    ann = ContactFactory(
        email="ann@x.com",
        custom={
            "tier": "gold",
            "seats": 10,
            "renewal": "2027-01-10",
            "vip": True,
            "tools": ["crm"],
            "nick": "A",
        },
    )
    bob = ContactFactory(
        email="bob@x.com", custom={"tier": "silver", "seats": 2.5, "vip": False, "tools": ["crm", "erp"]}
    )
    ContactFactory(email="cyd@x.com", custom={})

    def ids(query):
        with portable_path() if portable else _nothing():
            response = marketer_client.get(f"/api/contacts/?{query}")
        assert response.status_code == 200, response.data
        return {row["id"] for row in response.data["results"]}

    assert ids("custom.tier=gold") == {ann.pk}
    assert ids("custom.seats=10") == {ann.pk}
    assert ids("custom.seats__gte=2.5&custom.seats__lte=3") == {bob.pk}
    assert ids("custom.renewal__gte=2027-01-01") == {ann.pk}
    assert ids("custom.vip=false") == {bob.pk}
    assert ids("custom.tools=erp") == {bob.pk}
    assert ids("custom.nick=A") == {ann.pk}
    assert len(ids("custom.renewal__isnull=true")) == 2


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def test_bad_filters_are_400_naming_the_parameter(marketer_client, fields):
    for query, param in (
        ("custom.shoe=1", "custom.shoe"),
        ("custom.seats=lots", "custom.seats"),
        ("custom.tier=bronze", "custom.tier"),
        ("custom.tier__gte=a", "custom.tier__gte"),
        ("custom.vip=maybe", "custom.vip"),
        ("custom.renewal=tomorrow", "custom.renewal"),
    ):
        response = marketer_client.get(f"/api/contacts/?{query}")
        assert response.status_code == 400 and param in response.data, (query, response.data)


def test_deleting_an_unused_field_works_and_a_used_one_is_409(marketer_client, fields):
    assert marketer_client.delete(f"/api/custom-fields/{fields['nick'].pk}/").status_code == 204
    from segments.services import segment_create

    segment_create(
        name="Gold customers",
        definition={
            "entity": "contact",
            "conditions": [{"field": "custom.tier", "op": "eq", "value": "gold"}],
        },
    )
    response = marketer_client.delete(f"/api/custom-fields/{fields['tier'].pk}/")
    assert response.status_code == 409
    assert "Gold customers" in response.data["detail"]
    assert CustomField.objects.filter(pk=fields["tier"].pk).exists()
    assert custom_fields.usages("contact", "tier")


def test_services_refuse_bad_values_for_every_writer(fields):
    from django.core.exceptions import ValidationError
    from django.db import transaction

    from crm_core.services import contact_create, lead_create

    with pytest.raises(ValidationError, match="tier"), transaction.atomic():
        contact_create(email="z@x.com", custom={"tier": "bronze"})
    with pytest.raises(ValidationError, match="Unknown custom field"), transaction.atomic():
        lead_create(topic="T", custom={"tier": "gold"})
    assert not Contact.objects.filter(email="z@x.com").exists()
    assert contact_create(email="y@x.com", custom={"tier": "gold", "seats": 0}).custom == {
        "tier": "gold",
        "seats": 0,
    }


@pytest.mark.parametrize("portable", [False, True], ids=["postgres", "portable"])
def test_leads_filter_on_their_custom_fields(marketer_client, portable):
    custom_field_create(entity="lead", key="budget", label="Budget", field_type="number")
    big = LeadFactory(custom={"budget": 5000})
    LeadFactory(custom={"budget": 100})
    LeadFactory(custom={})
    with portable_path() if portable else _nothing():
        found = marketer_client.get("/api/leads/?custom.budget__gte=1000")
        bad = marketer_client.get("/api/leads/?custom.budget=lots")
    assert [row["id"] for row in found.data["results"]] == [big.pk]
    assert bad.status_code == 400 and "custom.budget" in bad.data
