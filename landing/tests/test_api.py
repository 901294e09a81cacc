"""/api/landing-pages/: marketers edit, sales reps read, anonymous gets 401; bad input gets a clear 400."""

import pytest

from landing.models import FormSubmission, LandingPage
from landing.tests.factories import LandingPageFactory
from landing.tests.utils import submit

pytestmark = pytest.mark.django_db

URL = "/api/landing-pages/"


def _page_body(**overrides):
    body = {
        "slug": "spring-webinar",
        "title": "Spring webinar",
        "content": '<h2>Join us</h2><script>alert("x")</script><p onmouseover="x()">Free</p>',
        "status": "live",
        "lead_topic": "Spring webinar",
        "contact_matching": "email_last_name",
        "lead_matching": "always_new",
        "consent_text": "Email me about events",
        "fields": [
            {"name": "email", "label": "Email", "field_type": "email", "required": True,
             "contact_field": "email"},
            {"name": "surname", "label": "Last name", "required": True, "contact_field": "last_name",
             "lead_field": "last_name"},
            {"name": "size", "label": "Company size", "field_type": "choice", "choices": ["1-10", "11-500"]},
        ],
    }  # fmt: skip
    body.update(overrides)
    return body


def test_a_marketer_creates_a_page_with_its_form_and_the_content_is_sanitised(marketer_client, marketer):
    response = marketer_client.post(URL, _page_body(), format="json")

    assert response.status_code == 201, response.data
    page = LandingPage.objects.get(slug="spring-webinar")
    assert "<script>" not in page.content and "onmouseover" not in page.content
    assert "<h2>Join us</h2>" in page.content
    assert [f.name for f in page.fields.all()] == ["email", "surname", "size"]
    assert page.created_by == marketer
    assert response.data["public_url"] == "/l/spring-webinar/"


def test_a_marketer_replaces_the_fields_and_patches_the_status(marketer_client):
    page_id = marketer_client.post(URL, _page_body(), format="json").data["id"]
    fields = _page_body()["fields"][:2]
    response = marketer_client.patch(f"{URL}{page_id}/", {"status": "draft", "fields": fields}, format="json")
    assert response.status_code == 200, response.data
    page = LandingPage.objects.get(pk=page_id)
    assert page.status == "draft" and page.fields.count() == 2


def test_sales_reps_read_but_cannot_write_and_anonymous_gets_401(sales_client, anon_client):
    page = LandingPageFactory()
    assert sales_client.get(URL).status_code == 200
    assert sales_client.get(f"{URL}{page.pk}/").data["slug"] == page.slug
    assert sales_client.post(URL, _page_body(), format="json").status_code == 403
    assert sales_client.patch(f"{URL}{page.pk}/", {"title": "x"}, format="json").status_code == 403
    assert anon_client.get(URL).status_code == 401


@pytest.mark.parametrize(
    ("overrides", "key"),
    [
        ({"fields": [{"name": "x", "label": "X"}]}, "fields"),
        (
            {"fields": [{"name": "email", "label": "E", "field_type": "email", "contact_field": "email"}]},
            "fields",
        ),
        ({"contact_matching": "email_full_name"}, "contact_matching"),
        ({"colour": "red"}, "colour"),
        ({"status": "published"}, "status"),
        ({"redirect_url": "javascript:alert(1)"}, "redirect_url"),
        ({"fields": [{"name": "Bad Name!", "label": "x"}]}, "fields"),
    ],
)
def test_bad_definitions_get_400_naming_the_field(marketer_client, overrides, key):
    response = marketer_client.post(URL, _page_body(**overrides), format="json")
    assert response.status_code == 400
    assert key in response.data
    assert not LandingPage.objects.exists()


def test_a_page_with_submissions_cannot_be_deleted_but_one_without_can(marketer_client, web):
    used, unused = LandingPageFactory(), LandingPageFactory()
    submit(web, used, email="u@example.com", last_name="U")
    assert marketer_client.delete(f"{URL}{used.pk}/").status_code == 409
    assert marketer_client.delete(f"{URL}{unused.pk}/").status_code == 204


def test_the_submissions_of_a_page_are_listed_with_their_status(marketer_client, web):
    page = LandingPageFactory()
    submit(web, page, email="ok@example.com", last_name="Ok")
    submit(web, page, email="bad", last_name="Bad")
    response = marketer_client.get(f"{URL}{page.pk}/submissions/")
    assert response.status_code == 200
    assert sorted(r["status"] for r in response.data["results"]) == ["invalid", "processed"]
    invalid = marketer_client.get(f"{URL}{page.pk}/submissions/?status=invalid").data["results"]
    assert invalid[0]["errors"] == {"email": ["Enter a valid email address."]}
    assert FormSubmission.objects.count() == 2


def test_an_unknown_submission_status_filter_is_400(marketer_client):
    page = LandingPageFactory()
    response = marketer_client.get(f"{URL}{page.pk}/submissions/?status=weird")
    assert response.status_code == 400 and "status" in response.data


def test_the_openapi_schema_covers_the_landing_and_privacy_endpoints():
    from drf_spectacular.generators import SchemaGenerator

    paths = SchemaGenerator().get_schema(request=None, public=True)["paths"]
    assert {"/api/landing-pages/", "/api/landing-pages/{id}/submissions/"} <= set(paths)
    assert {"/api/contacts/{id}/export/", "/api/contacts/{id}/erase/"} <= set(paths)
