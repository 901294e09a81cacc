"""A custom field in every place a built-in field goes: landing-form mapping (validated by type),
email merge fields, lead imports (JSON and CSV columns), the privacy export and erase, the admin's
widgets, the contact page, the definitions page and `form_fields` for other forms."""

import datetime as dt

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from crm_core import custom_fields
from crm_core.models import Contact, CustomField, Lead
from crm_core.privacy import contact_erase, contact_export_data
from crm_core.services import custom_field_create
from crm_core.tests.factories import ContactFactory, LeadFactory
from landing.models import FieldType, FormField
from landing.services import landing_form_problems
from landing.tests.factories import LandingPageFactory
from landing.tests.utils import submit

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _generous_rate_limit(settings):
    settings.LANDING_RATE_LIMIT = "100000/minute"


@pytest.fixture
def tier():
    return custom_field_create(
        entity="contact", key="tier", label="Tier", field_type="choice", choices=["gold", "silver"]
    )


@pytest.fixture
def seats():
    return custom_field_create(entity="contact", key="seats", label="Seats", field_type="number")


def _page_with(*fields):
    page = LandingPageFactory()
    for position, (name, kind, target, extra) in enumerate(fields, start=10):
        FormField.objects.create(page=page, position=position, name=name, label=name.title(),
                                 field_type=kind, contact_field=target, **extra)  # fmt: skip
    return page


def test_landing_form_maps_to_custom_fields_validated_by_type(tier, seats):
    budget = custom_field_create(entity="lead", key="budget", label="Budget", field_type="number")
    page = _page_with(
        ("tier", FieldType.CHOICE, "custom.tier", {}), ("seats", FieldType.TEXT, "custom.seats", {})
    )
    FormField.objects.create(page=page, position=20, name="budget", label="Budget", lead_field=budget.name)
    form_html = Client().get(f"/l/{page.slug}/").content.decode()
    assert 'value="gold"' in form_html and 'type="number"' in form_html

    bad = submit(Client(), page, email="ann@example.com", last_name="Ann", tier="platinum", seats="many")
    assert bad.status_code == 400 or "platinum" not in Contact.objects.values_list("custom", flat=True)
    assert not Contact.objects.filter(email="ann@example.com").exists()

    submit(Client(), page, email="ann@example.com", last_name="Ann", tier="gold", seats="12", budget="99.5")
    contact = Contact.objects.get(email="ann@example.com")
    assert contact.custom == {"tier": "gold", "seats": 12.0}
    assert Lead.objects.get(parent_contact=contact).custom == {"budget": 99.5}
    # an anonymous post only fills empty values
    submit(Client(), page, email="ann@example.com", last_name="Ann", tier="silver", seats="3")
    contact.refresh_from_db()
    assert contact.custom == {"tier": "gold", "seats": 12.0}


def test_a_required_custom_field_the_form_does_not_ask_for_never_blocks_a_submission(tier):
    custom_field_create(entity="contact", key="region", label="Region", field_type="text", required=True)
    page = _page_with(("tier", FieldType.CHOICE, "custom.tier", {}))
    submit(Client(), page, email="bo@example.com", last_name="Bo", tier="silver")
    assert Contact.objects.get(email="bo@example.com").custom == {"tier": "silver"}


def test_landing_mapping_checks_the_definition_and_the_input_type(tier, seats):
    base = [{"name": "email", "field_type": "email", "required": True, "contact_field": "email"}]

    def problems(row):
        return [p.message for p in landing_form_problems(fields=[*base, row], contact_matching="email")]

    assert problems({"name": "t", "field_type": "choice", "contact_field": "custom.tier"}) == []
    assert problems({"name": "n", "field_type": "text", "contact_field": "custom.seats"}) == []
    assert "has no field" in problems({"name": "x", "field_type": "text", "contact_field": "custom.nope"})[0]
    assert (
        "needs a Choice field"
        in problems({"name": "t", "field_type": "text", "contact_field": "custom.tier"})[0]
    )
    assert (
        "needs a Text field"
        in problems({"name": "n", "field_type": "checkbox", "contact_field": "custom.seats"})[0]
    )


def test_deleting_a_mapped_field_names_the_landing_page(tier):
    page = _page_with(("tier", FieldType.CHOICE, "custom.tier", {}))
    assert custom_fields.usages("contact", "tier") == [
        f"landing page “{page.title}” (/l/{page.slug}/), form field “tier”"
    ]


def test_email_merge_fields_render_custom_values_and_unknown_ones_are_refused(tier):
    from journeys import services
    from journeys.email_templates import validate_email_config
    from journeys.tests.factories import SegmentMemberFactory, make_journey, send_email_step

    html = '<p>Your tier: {{ contact.custom.tier|default:"none" }}</p><p>Leave: {{ unsubscribe_url }}</p>'
    assert validate_email_config({"subject": "Hi", "html": html}) == {}
    assert (
        "unknown merge field"
        in validate_email_config({"subject": "{{ contact.custom.nope }}", "html": html})["subject"]
    )
    gold = ContactFactory(custom={"tier": "gold"}, consent_level=3)
    plain = ContactFactory(custom={}, consent_level=3)
    for contact in (gold, plain):
        SegmentMemberFactory(segment_id=1, contact=contact)
    step = send_email_step(config={"subject": "Tier {{ contact.custom.tier }}", "html": html})
    services.journey_go_live(journey=make_journey(steps=[step]))
    services.journeys_tick(inline=True)
    bodies = {m.to[0]: (m.subject, m.alternatives[0][0]) for m in mail.outbox}
    assert bodies[gold.email][0] == "Tier gold" and "Your tier: gold" in bodies[gold.email][1]
    assert "Your tier: none" in bodies[plain.email][1]
    assert any("email step" in u for u in custom_fields.usages("contact", "tier"))


def test_lead_import_takes_custom_values_from_json_and_csv_columns(marketer_client):
    custom_field_create(entity="lead", key="budget", label="Budget", field_type="number", required=True)
    custom_field_create(
        entity="lead", key="tools", label="Tools", field_type="multi_choice", choices=["crm", "erp"]
    )
    rows = [
        {"topic": "A", "custom": {"budget": 10}},
        {"topic": "B", "custom.budget": "20", "custom.tools": "erp; crm"},
    ]
    response = marketer_client.post("/api/leads/bulk/", rows, format="json")
    assert response.status_code == 201, response.data
    stored = dict(Lead.objects.values_list("topic", "custom"))
    assert stored == {"A": {"budget": 10}, "B": {"budget": 20, "tools": ["crm", "erp"]}}
    bad = [
        {"topic": "C"},
        {"topic": "D", "custom.budget": "lots"},
        {"topic": "E", "custom.nope": "1", "custom": {"budget": 1}},
    ]
    response = marketer_client.post("/api/leads/bulk/", bad, format="json")
    assert response.status_code == 400
    assert [(r["row"], sorted(r["errors"])) for r in response.data["rows"]] == [
        (0, ["custom.budget"]),
        (1, ["custom.budget"]),
        (2, ["custom.nope"]),
    ]


def test_privacy_export_carries_and_erase_clears_custom_values(tier, admin_user):
    contact = ContactFactory(custom={"tier": "gold"})
    LeadFactory(parent_contact=contact, custom={"x": 1})
    assert contact_export_data(contact=contact)["contact"]["custom"] == {"tier": "gold"}
    contact_erase(contact=contact, actor=admin_user)
    contact.refresh_from_db()
    assert contact.custom == {} and Lead.objects.get(parent_contact=contact).custom == {}


def test_admin_shows_one_widget_per_custom_field_and_saves_through_the_services(
    client, admin_user, tier, seats
):
    custom_field_create(entity="contact", key="renewal", label="Renewal", field_type="date")
    contact = ContactFactory(custom={"tier": "silver"})
    client.force_login(admin_user)
    url = reverse("admin:crm_core_contact_change", args=[contact.pk])
    page = client.get(url).content.decode()
    assert 'name="custom.tier"' in page and 'name="custom.seats"' in page and 'type="date"' in page
    assert 'name="custom"' not in page
    form = client.get(url).context["adminform"].form
    data = {k: v for k, v in form.initial.items() if v is not None and not isinstance(v, (list, dict))}
    data.update(
        {
            "custom.tier": "gold",
            "custom.seats": "7",
            "custom.renewal": "2027-02-01",
            "email": contact.email or "",
        }
    )
    for name in ("owner", "parent_account", "guardian"):
        data.pop(name, None)
    response = client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    contact.refresh_from_db()
    assert contact.custom == {"tier": "gold", "seats": 7, "renewal": "2027-02-01"}
    assert client.get(reverse("admin:crm_core_account_add")).status_code == 200
    assert client.get(reverse("admin:crm_core_customfield_changelist")).status_code == 200


def test_contact_page_shows_custom_values_by_label(client, marketer, tier):
    contact = ContactFactory(custom={"tier": "gold"})
    client.force_login(marketer)
    page = client.get(reverse("workspace:contact-detail", args=[contact.pk])).content.decode()
    assert "<dt>Tier</dt>" in page and '<dd data-testid="contact-custom">gold</dd>' in page.replace(
        "Gold", "gold"
    )


def test_definitions_page_adds_renames_and_refuses_to_delete_a_used_field(client, marketer, sales_rep):
    client.force_login(marketer)
    url = reverse("workspace:custom-field-list")
    body = {
        "entity": "contact",
        "label": "Tier",
        "key": "tier",
        "field_type": "choice",
        "choices": "gold, silver",
    }
    assert client.post(url, body).status_code == 302
    field = CustomField.objects.get(key="tier")
    assert field.choices == [{"value": "gold", "label": "gold"}, {"value": "silver", "label": "silver"}]
    again = client.post(url, body)
    assert again.status_code == 200 and "already" in again.content.decode()
    client.post(reverse("workspace:custom-field-label", args=[field.pk]), {"label": "Customer tier"})
    field.refresh_from_db()
    assert (field.label, field.key) == ("Customer tier", "tier")
    _page_with(("tier", FieldType.CHOICE, "custom.tier", {}))
    response = client.post(reverse("workspace:custom-field-delete", args=[field.pk]), follow=True)
    assert "still used" in response.content.decode() and CustomField.objects.filter(pk=field.pk).exists()
    client.force_login(sales_rep)
    assert client.post(url, {**body, "key": "other"}).status_code == 403


def test_form_fields_give_a_typed_django_field_per_custom_field(tier, seats):
    custom_field_create(entity="contact", key="renewal", label="Renewal", field_type="date")
    fields = custom_fields.form_fields("contact")
    assert list(fields) == ["custom.tier", "custom.seats", "custom.renewal"]
    cleaned = {
        name: field.clean(raw)
        for (name, field), raw in zip(fields.items(), ["gold", "3", "2027-01-02"], strict=True)
    }
    assert custom_fields.form_values(cleaned) == {"tier": "gold", "seats": 3.0, "renewal": "2027-01-02"}
    assert cleaned["custom.renewal"] == dt.date(2027, 1, 2)
