"""403, 404 and 405 inside the workspace's shell, with the reason and a way back; JSON under /api/;
the API docs page for an anonymous visitor (a login link, not a bare 401)."""

import pytest
from django.test import Client

from crm_core.tests.factories import LeadFactory, MarketerFactory, SalesRepFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def rep_browser():
    client = Client()
    client.force_login(SalesRepFactory(username="rita"))
    return client


def test_403_shows_the_reason_in_the_shell(rep_browser):
    response = rep_browser.get("/dashboard/", HTTP_REFERER="http://testserver/leads/queue/")
    assert response.status_code == 403
    assert response.templates[0].name == "workspace/error.html"
    html = response.content.decode()
    assert "The dashboard is for marketing." in html  # the PermissionDenied message
    assert 'data-testid="nav"' in html  # inside the shell, with the rep's menu
    assert 'href="http://testserver/leads/queue/" data-testid="error-back"' in html
    assert 'data-testid="error-home"' in html


def test_403_from_an_access_rule_names_it(rep_browser):
    other = SalesRepFactory(username="otto")
    lead = LeadFactory(owner=other)
    response = rep_browser.post(f"/leads/{lead.pk}/accept/")
    assert response.status_code == 403
    assert "This lead belongs to another rep" in response.content.decode()


def test_403_without_a_message_says_what_is_missing(rep_browser):
    response = rep_browser.get("/segments/new/")  # permission_required(raise_exception=True)
    assert response.status_code == 403
    assert "does not have the permission this page needs" in response.content.decode()


def test_403_to_htmx_is_only_the_message(rep_browser):
    response = rep_browser.get("/dashboard/", HTTP_HX_REQUEST="true")
    assert response.status_code == 403
    html = response.content.decode()
    assert "The dashboard is for marketing." in html and "<html" not in html


def test_404_page_names_the_missing_record_and_offers_the_list(rep_browser):
    response = rep_browser.get("/contacts/987654/")
    assert response.status_code == 404
    html = response.content.decode()
    assert 'data-testid="error-page" data-status="404"' in html
    assert 'href="/contacts/" data-testid="error-up"' in html


def test_404_of_an_unknown_address_has_no_resolver_dump(rep_browser):
    response = rep_browser.get("/no/such/page/")
    assert response.status_code == 404
    html = response.content.decode()
    assert "no page at this address" in html and "Resolver404" not in html and "tried" not in html


def test_405_after_reloading_an_action_explains_and_links_to_the_record(rep_browser):
    lead = LeadFactory()
    response = rep_browser.get(f"/leads/{lead.pk}/accept/")
    assert response.status_code == 405
    assert response["Allow"] == "POST"
    html = response.content.decode()
    assert "runs an action" in html and "Reloading" in html
    assert f'href="/leads/{lead.pk}/" data-testid="error-up"' in html


def test_api_errors_stay_json(rep_browser):
    for path, status in (("/api/nothing-here/", 404), ("/api/contacts/1.5/", 404)):
        response = rep_browser.get(path)
        assert response.status_code == status
        assert response["Content-Type"] == "application/json"
        assert response.json() == {"detail": "Not found."}
    anonymous = Client().get("/api/contacts/")
    assert anonymous.status_code == 401 and "detail" in anonymous.json()


def test_api_405_stays_drf_json(rep_browser):
    response = rep_browser.delete("/api/auth/token/")
    assert response.status_code == 405 and response.json()["detail"]


def test_docs_ask_an_anonymous_visitor_to_log_in():
    response = Client().get("/api/docs/")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Token")
    html = response.content.decode()
    assert 'href="/accounts/login/?next=/api/docs/"' in html and "API documentation" in html


def test_docs_are_served_from_our_own_static_files():
    client = Client()
    client.force_login(MarketerFactory(username="mona"))
    html = client.get("/api/docs/").content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in html
    assert "cdn" not in html.lower() and "https://" not in html
    script = client.get("/api/docs/?script=")
    assert script.status_code == 200 and b"SwaggerUIBundle" in script.content
    policy = client.get("/api/docs/")["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" in policy.split("style-src")[1].split(";")[0]
