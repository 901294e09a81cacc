"""A custom field's choices in the admin: comma-separated `value` or `value = Label` (no JSON),
checked as the services check them (a bad list is shown at the field, nothing saved)."""

import pytest
from django.urls import reverse

from crm_core.models import CustomField

pytestmark = pytest.mark.django_db


def _data(choices: str) -> dict:
    return {"entity": "contact", "key": "tier", "label": "Tier", "field_type": "choice",
            "choices": choices, "ordering": "0"}  # fmt: skip


def test_choices_with_labels_are_saved_and_shown_back(client, admin_user):
    client.force_login(admin_user)
    response = client.post(reverse("admin:crm_core_customfield_add"), _data("gold = Gold customer, silver"))
    assert response.status_code == 302
    field = CustomField.objects.get(key="tier")
    assert (field.entity, field.field_type) == ("contact", "choice")
    assert field.choices == [
        {"value": "gold", "label": "Gold customer"},
        {"value": "silver", "label": "silver"},
    ]
    html = client.get(reverse("admin:crm_core_customfield_change", args=[field.pk])).content.decode()
    assert 'value="gold = Gold customer, silver"' in html


def test_a_bad_choice_is_refused_at_the_field(client, admin_user):
    client.force_login(admin_user)
    response = client.post(reverse("admin:crm_core_customfield_add"), _data("Gold!, silver"))
    assert response.status_code == 200
    assert "Choice value “Gold!”" in response.content.decode()
    assert not CustomField.objects.exists()
