"""A landing form field's choices in the admin: typed comma-separated, as in the editor (no JSON)."""

import pytest
from django.urls import reverse

from landing.models import FormField, LandingPage

pytestmark = pytest.mark.django_db


def _page_data(**fields) -> dict:
    data = {
        "title": "Colours", "slug": "colours", "status": "draft", "content": "", "lead_topic": "T",
        "contact_matching": "email", "lead_matching": "same_topic", "submit_label": "Send",
        "consent_text": "", "consent_level": 3, "thank_you_message": "Thanks", "redirect_url": "",
        "fields-TOTAL_FORMS": "2", "fields-INITIAL_FORMS": "0", "fields-MIN_NUM_FORMS": "0",
        "fields-MAX_NUM_FORMS": "1000", "fields-0-position": "0", "fields-0-name": "email",
        "fields-0-label": "Email", "fields-0-field_type": "email", "fields-0-max_length": "200",
        "fields-0-required": "on", "fields-0-choices": "", "fields-0-contact_field": "email",
        "fields-0-lead_field": "", "fields-1-position": "1", "fields-1-name": "colour",
        "fields-1-label": "Colour", "fields-1-field_type": "choice", "fields-1-max_length": "50",
        "fields-1-choices": "red, green ,blue", "fields-1-contact_field": "", "fields-1-lead_field": "",
    }  # fmt: skip
    return {**data, **fields}


def test_choices_are_typed_comma_separated_and_shown_back_so(client, admin_user):
    client.force_login(admin_user)
    response = client.post(reverse("admin:landing_landingpage_add"), _page_data())
    assert response.status_code == 302, response.content.decode()[:3000]
    field = FormField.objects.get(name="colour")
    assert field.choices == ["red", "green", "blue"]
    page = LandingPage.objects.get(slug="colours")
    html = client.get(reverse("admin:landing_landingpage_change", args=[page.pk])).content.decode()
    assert 'value="red, green, blue"' in html
    assert "<textarea" not in html.split('id="fields-group"')[1]  # no JSON box among the fields
