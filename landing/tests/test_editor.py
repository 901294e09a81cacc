import pytest

from landing.models import LandingPage

pytestmark = pytest.mark.django_db


def _post_data(**page):
    data = {
        "title": "Contoso Ltd Conference",
        "slug": "contoso-2027",
        "status": "live",
        "lead_topic": "Contoso Ltd Conference",
        "content": "<p>Join us</p><script>alert(1)</script>",
        "contact_matching": "email",
        "lead_matching": "same_topic",
        "submit_label": "Register",
        "consent_text": "",
        "consent_level": 3,
        "thank_you_message": "Thanks!",
        "redirect_url": "",
        "fields-TOTAL_FORMS": "2",
        "fields-INITIAL_FORMS": "0",
        "fields-MIN_NUM_FORMS": "0",
        "fields-MAX_NUM_FORMS": "50",
        "fields-0-name": "email",
        "fields-0-label": "Email",
        "fields-0-field_type": "email",
        "fields-0-required": "on",
        "fields-0-max_length": "200",
        "fields-0-contact_field": "email",
        "fields-0-lead_field": "",
        "fields-1-name": "company",
        "fields-1-label": "Company",
        "fields-1-field_type": "text",
        "fields-1-max_length": "200",
        "fields-1-contact_field": "",
        "fields-1-lead_field": "company_name",
    }
    data.update(page)
    return data


def test_marketer_creates_and_edits_a_landing_page(client, marketer):
    client.force_login(marketer)
    assert client.get("/landing-pages/").status_code == 200
    assert client.get("/landing-pages/new/").status_code == 200
    response = client.post("/landing-pages/new/", _post_data())
    assert response.status_code == 302
    page = LandingPage.objects.get(slug="contoso-2027")
    assert "<script>" not in page.content and "Join us" in page.content
    assert list(page.fields.values_list("name", "contact_field", "lead_field")) == [
        ("email", "email", ""),
        ("company", "", "company_name"),
    ]
    assert client.get("/l/contoso-2027/").status_code == 200
    edited = client.post(
        f"/landing-pages/{page.pk}/", _post_data(title="Contoso 2027", **{"fields-TOTAL_FORMS": "1"})
    )
    assert edited.status_code == 302
    page.refresh_from_db()
    assert page.title == "Contoso 2027" and page.fields.count() == 1


def test_invalid_input_is_a_400_with_errors_and_saves_nothing(client, marketer):
    client.force_login(marketer)
    response = client.post(
        "/landing-pages/new/", _post_data(slug="not a slug", **{"fields-0-name": "Bad Name"})
    )
    assert response.status_code == 400
    assert b"errorlist" in response.content
    duplicate = client.post("/landing-pages/new/", _post_data(**{"fields-1-name": "email"}))
    assert duplicate.status_code == 400 and b"duplicate" in duplicate.content
    assert not LandingPage.objects.exists()


def test_sales_reads_but_cannot_edit_and_anonymous_must_log_in(client, sales_rep, marketer):
    client.force_login(marketer)
    client.post("/landing-pages/new/", _post_data())
    page = LandingPage.objects.get()
    client.force_login(sales_rep)
    assert client.get("/landing-pages/").status_code == 200
    view = client.get(f"/landing-pages/{page.pk}/")
    assert view.status_code == 200 and b"disabled" in view.content
    assert client.post(f"/landing-pages/{page.pk}/", _post_data(title="hijack")).status_code == 403
    assert client.get("/landing-pages/new/").status_code == 403
    page.refresh_from_db()
    assert page.title == "Contoso Ltd Conference"
    client.logout()
    assert client.get("/landing-pages/").status_code == 302
