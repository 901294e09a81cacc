"""Custom fields in the account and lead forms of the workspace and the admin (the contact's are in
test_pages_records.py and crm_core/tests/test_custom_fields_places.py): a typed field each, required
ones required on create, a bad value an error at its field with nothing saved."""

import pytest
from django.urls import reverse

from crm_core.models import Account, Lead
from crm_core.services import custom_field_create
from crm_core.tests.factories import AccountFactory, LeadFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def fields():
    custom_field_create(entity="account", key="segment", label="Segment", field_type="choice",
                        choices=["smb", "enterprise"], required=True)  # fmt: skip
    custom_field_create(entity="account", key="renewal", label="Renewal", field_type="date")
    custom_field_create(entity="lead", key="tools", label="Tools", field_type="multi_choice",
                        choices=["crm", "erp", "bi"])  # fmt: skip
    custom_field_create(entity="lead", key="budget", label="Budget", field_type="number")
    custom_field_create(entity="lead", key="urgent", label="Urgent", field_type="boolean")


def test_an_account_form_takes_its_custom_fields(client, marketer, fields):
    client.force_login(marketer)
    url = reverse("workspace:account-create")
    html = client.get(url).content.decode()
    assert 'name="custom.segment"' in html and 'name="custom.renewal"' in html and 'type="date"' in html
    missing = client.post(url, {"name": "Contoso"})
    assert missing.status_code == 400 and "custom.segment" in missing.context["form"].errors
    bad = client.post(url, {"name": "Contoso", "custom.segment": "huge", "custom.renewal": "soon"})
    assert bad.status_code == 400
    assert {"custom.segment", "custom.renewal"} <= set(bad.context["form"].errors)
    assert not Account.objects.exists()
    made = client.post(
        url, {"name": "Contoso", "custom.segment": "enterprise", "custom.renewal": "2031-01-02"}
    )
    assert made.status_code == 302
    assert Account.objects.get().custom == {"segment": "enterprise", "renewal": "2031-01-02"}


def test_a_lead_form_takes_its_custom_fields_and_an_edit_keeps_the_others(client, marketer, fields):
    client.force_login(marketer)
    url = reverse("workspace:lead-create")
    bad = client.post(url, {"topic": "Demo", "custom.budget": "lots", "custom.tools": ["mars"]})
    assert bad.status_code == 400 and {"custom.budget", "custom.tools"} <= set(bad.context["form"].errors)
    assert not Lead.objects.exists()
    made = client.post(
        url,
        {
            "topic": "Demo",
            "source": "web",
            "custom.budget": "2500",
            "custom.tools": ["erp", "crm"],
            "custom.urgent": "on",
        },
    )
    assert made.status_code == 302, made.context and made.context["form"].errors
    lead = Lead.objects.get()
    assert lead.custom == {"budget": 2500, "tools": ["crm", "erp"], "urgent": True}

    edit = reverse("workspace:lead-edit", args=[lead.pk])
    page = client.get(edit)
    data = {k: v for k, v in page.context["form"].initial.items() if v not in (None, [])}
    data.update({"custom.budget": "", "custom.tools": ["bi"]})
    data.pop("custom.urgent", None)  # an unticked box: false
    assert client.post(edit, data).status_code == 302
    lead.refresh_from_db()
    assert lead.custom == {"tools": ["bi"], "urgent": False}


def test_the_admin_shows_account_and_lead_custom_widgets(client, admin_user, fields):
    client.force_login(admin_user)
    account = AccountFactory(custom={"segment": "smb"})
    page = client.get(reverse("admin:crm_core_account_change", args=[account.pk])).content.decode()
    assert 'name="custom.segment"' in page and 'name="custom"' not in page
    lead = LeadFactory(custom={"tools": ["crm"]})
    page = client.get(reverse("admin:crm_core_lead_change", args=[lead.pk])).content.decode()
    assert 'name="custom.tools"' in page and 'name="custom.budget"' in page and 'name="custom"' not in page
