"""Email templates: compile (MRML), CSS inlining, the text part, the unsubscribe rule, the link check,
the preview for a contact, the test send (to a real local SMTP server), the API's 4xx, and journey
steps that name a template."""

import pytest
from django.core import mail

from crm_core.tests.factories import AccountFactory, ContactFactory, LeadFactory
from journeys import services
from journeys.email_compile import EmailInvalid, compile_email, link_report
from journeys.models import EmailTemplate, OutboundEmail, Step

pytestmark = pytest.mark.django_db

MJML = """<mjml><mj-head><mj-style>.brand { color: #123456; }</mj-style></mj-head><mj-body><mj-section>
<mj-column>
<mj-text css-class="brand">Hello {{ contact.first_name|default:&quot;there&quot; }}
from {{ account.name }}</mj-text>
<mj-text>About {{ lead.topic|default:"our news" }}</mj-text>
<mj-button href="https://example.com/offer?a=1&amp;b=2">See the offer</mj-button>
<mj-text><a href="{{ unsubscribe_url }}">Unsubscribe</a></mj-text>
</mj-column></mj-section></mj-body></mjml>"""

NO_UNSUBSCRIBE = MJML.replace('<mj-text><a href="{{ unsubscribe_url }}">Unsubscribe</a></mj-text>', "")


def _template(**overrides) -> EmailTemplate:
    values = {"name": "Welcome", "kind": "marketing", "subject": "Hi {{ contact.first_name }}", "mjml": MJML}
    return services.email_template_create(**{**values, **overrides})


def test_compiles_mjml_inlines_css_and_generates_text():
    compiled = compile_email(mjml=MJML, kind="marketing", subject="Hi", preheader="Our autumn news")
    assert compiled.html.lstrip().lower().startswith("<!doctype html>")
    assert "<mj-" not in compiled.html
    # css-inline moved the mj-style rule onto the element carrying the class
    assert "color: #123456" in compiled.html.replace("color:#123456", "color: #123456")
    # the merge tag written with &quot; by the editor is back in the plain grammar
    assert '{{ contact.first_name|default:"there" }}' in compiled.html
    assert "Our autumn news" in compiled.html  # the preheader (mj-preview)
    assert "Hello {{ contact.first_name" in compiled.text
    assert "https://example.com/offer?a=1&b=2" in compiled.text
    assert "<" not in compiled.text.replace("<http", "")


def test_marketing_email_without_unsubscribe_link_is_refused_but_transactional_is_not():
    with pytest.raises(EmailInvalid) as refused:
        compile_email(mjml=NO_UNSUBSCRIBE, kind="marketing", subject="Hi")
    assert "unsubscribe" in refused.value.errors
    assert compile_email(mjml=NO_UNSUBSCRIBE, kind="transactional", subject="Hi").html


def test_link_check_reports_every_link():
    html = (
        '<a href="https://ok.example/a">a</a><a href="/relative">b</a><a href="http://">c</a>'
        '<a href="{{ contact.email }}">d</a><a href="{{ unsubscribe_url }}">e</a>'
        '<a href="mailto:hello@example.com">f</a><a href="javascript:alert(1)">g</a>'
    )
    report = link_report(html)
    assert [link["ok"] for link in report] == [True, False, False, False, True, True, False]
    assert report[1]["problem"] == "not an absolute http(s) URL"
    assert report[2]["problem"] == "the URL has no host"
    with pytest.raises(EmailInvalid) as refused:
        compile_email(mjml=MJML.replace("https://example.com/offer", "/offer"), kind="marketing", subject="x")
    assert refused.value.errors["links"] == ["/offer?a=1&b=2: not an absolute http(s) URL"]


def test_bad_mjml_and_unknown_merge_fields_are_named():
    with pytest.raises(EmailInvalid) as refused:
        compile_email(mjml="<mjml><mj-bod", kind="marketing", subject="x")
    assert refused.value.errors["mjml"][0].startswith("not valid MJML")
    with pytest.raises(EmailInvalid) as refused:
        compile_email(mjml=MJML, kind="marketing", subject="Hi {{ contact.password }}")
    assert "unknown merge field" in refused.value.errors["subject"][0]


def test_preview_merges_the_contacts_values_and_says_what_consent_and_tracking_do():
    account = AccountFactory(name="Contoso")
    ada = ContactFactory(first_name="Ada", parent_account=account, track_email=False)
    LeadFactory(parent_contact=ada, topic="Data Platform Demo")
    template = _template()
    preview = services.email_template_preview(email_template=template, contact=ada)
    assert preview["subject"] == "Hi Ada"
    assert "Hello Ada\nfrom Contoso" in preview["html"] and "About Data Platform Demo" in preview["html"]
    assert 'href="https://example.com/offer?a=1&amp;b=2"' in preview["html"]  # not rewritten
    assert "/t/o/" not in preview["html"] and "/preferences/test-copy/" in preview["html"]
    assert preview["would_send"] is True and preview["tracking"] is False
    assert preview["tracking_notice"].startswith("tracking off for this contact")
    bob = ContactFactory(first_name="", do_not_bulk_email=True)
    preview = services.email_template_preview(email_template=template, contact=bob)
    assert "Hello there\nfrom " in preview["html"] and "About our news" in preview["html"]
    assert preview["would_send"] is False
    assert preview["sending"] == "would not be sent: the contact does not allow bulk (marketing) email"


def test_test_send_reaches_the_smtp_server_marked_as_a_test(smtp_sink):
    template = _template()
    ada = ContactFactory(first_name="Ada")
    services.email_template_test_send(email_template=template, to="qa@example.com", contact=ada)
    [received] = smtp_sink.messages
    assert received["to"] == ["qa@example.com"]
    message = received["message"]
    assert message["Subject"] == "[Test] Hi Ada"
    assert message["X-Nurture-Test"] == f"email-template-{template.pk}"
    html = message.get_body(("html",)).get_content()
    assert "Hello Ada" in html
    assert "Hello Ada" in message.get_body(("plain",)).get_content()
    assert not OutboundEmail.objects.exists()


def test_api_saves_compiles_and_refuses_bad_input(marketer_client, sales_client):
    body = {
        "name": "Welcome",
        "kind": "marketing",
        "subject": "Hi",
        "mjml": MJML,
        "editor_data": {"pages": []},
    }
    response = marketer_client.post("/api/email-templates/", body, format="json")
    assert response.status_code == 201, response.json()
    created = response.json()
    assert created["html"].lower().startswith("<!doctype html>") and created["text"]
    assert [link["ok"] for link in created["links"]] == [True, True]
    url = f"/api/email-templates/{created['id']}/"

    response = marketer_client.patch(url, {"mjml": NO_UNSUBSCRIBE}, format="json")
    assert response.status_code == 400
    assert "unsubscribe" in response.json()
    assert EmailTemplate.objects.get().mjml == MJML  # nothing half-saved
    for bad, field in [
        ({"mjml": "<mjml><mj-bod"}, "mjml"),
        ({"kind": "spam"}, "kind"),
        ({"editor_data": [1]}, "editor_data"),
        ({"shoe_size": 3}, "shoe_size"),
        ({"subject": "{% load x %}"}, "subject"),
    ]:
        response = marketer_client.patch(url, bad, format="json")
        assert response.status_code == 400 and field in response.json(), (bad, response.json())
    lone_surrogate = '{"mjml": "<mjml>\\ud800</mjml>"}'  # JSON text: the escape, as a client may send it
    response = marketer_client.patch(url, lone_surrogate, content_type="application/json")
    assert response.status_code == 400 and "Surrogate" in response.json()["mjml"][0]
    response = marketer_client.post(url + "preview/", {"contact": 999999}, format="json")
    assert response.status_code == 400 and response.json() == {"contact": ["no contact 999999"]}
    response = marketer_client.post(url + "preview/", {"contact": 2**70}, format="json")
    assert response.status_code == 400 and "contact" in response.json()
    response = marketer_client.post(url + "test-send/", {"to": "not-an-address"}, format="json")
    assert response.status_code == 400 and "to" in response.json()
    assert mail.outbox == []
    response = marketer_client.post("/api/email-templates/check/", {"mjml": NO_UNSUBSCRIBE}, format="json")
    assert response.status_code == 200 and response.json()["ok"] is False
    assert sales_client.get(url).status_code == 200
    assert sales_client.patch(url, {"name": "x"}, format="json").status_code == 403
    merge = marketer_client.get("/api/email-templates/merge-fields/").json()
    assert {"entity": "contact", "field": "first_name"}.items() <= merge[0].items()
    assert merge[0]["tag"] == '{{ contact.first_name|default:"there" }}'


def test_api_test_send_goes_through_the_email_backend(marketer_client):
    template = _template()
    ada = ContactFactory(first_name="Ada")
    url = f"/api/email-templates/{template.pk}/test-send/"
    response = marketer_client.post(url, {"to": "qa@example.com", "contact": ada.pk}, format="json")
    assert response.status_code == 202, response.json()
    [message] = mail.outbox
    assert message.subject == "[Test] Hi Ada" and message.to == ["qa@example.com"]


def test_a_journey_step_may_name_a_template(marketer_client):
    template = _template()
    steps = [{"key": "welcome", "kind": "send_email", "config": {"template_id": template.pk}}]
    body = {"name": "J", "entry_type": "segment", "entry_segment_id": 1, "steps": steps}
    response = marketer_client.post("/api/journeys/", body, format="json")
    assert response.status_code == 201, response.json()
    step = Step.objects.get(key="welcome")
    assert step.config["template_id"] == template.pk and step.config["html"] == template.html
    assert list(step.links.values_list("url", flat=True)) == ["https://example.com/offer?a=1&b=2"]
    body["steps"] = [{"key": "welcome", "kind": "send_email", "config": {"template_id": 424242}}]
    response = marketer_client.post("/api/journeys/", body, format="json")
    assert response.status_code == 400
    assert response.json()["steps[0].config.template_id"] == ["no email template 424242"]


def test_pages_create_open_preview_and_search(marketer, sales_rep):
    from django.test import Client

    client = Client()
    client.force_login(marketer)
    assert client.post("/journeys/emails/", {"name": "", "kind": "marketing"}).status_code == 400
    response = client.post("/journeys/emails/", {"name": "Spring news", "kind": "marketing"})
    template = EmailTemplate.objects.get(name="Spring news")
    assert response.status_code == 302 and response["Location"] == f"/journeys/emails/{template.pk}/"
    editor = client.get(response["Location"])
    assert editor.status_code == 200
    assert "'unsafe-inline'" in editor["Content-Security-Policy"]  # the canvas's styles
    assert b'data-testid="merge-field"' in editor.content and b"account \xc2\xb7 name" in editor.content
    ada = ContactFactory(first_name="Ada", last_name="Quill")
    preview = client.get(f"/journeys/emails/{template.pk}/preview/?contact={ada.pk}")
    assert preview.status_code == 200 and b"Hello Ada," in preview.content
    assert "script-src 'none'" in preview["Content-Security-Policy"]
    assert "frame-ancestors 'self'" in preview["Content-Security-Policy"]
    assert client.get(f"/journeys/emails/{template.pk}/preview/?contact=x").status_code == 400
    assert client.get(f"/journeys/emails/{template.pk}/preview/?contact=999999").status_code == 404
    found = client.get("/journeys/emails/contacts/?q=quil").json()["results"]
    assert [row["id"] for row in found] == [ada.pk]
    sales = Client()
    sales.force_login(sales_rep)
    assert sales.get(f"/journeys/emails/{template.pk}/").status_code == 200
    assert sales.post("/journeys/emails/", {"name": "x", "kind": "marketing"}).status_code == 403


def test_services_refuse_text_postgresql_cannot_store():
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as refused:
        _template(mjml=MJML + "\x00")
    assert "NUL" in refused.value.message_dict["mjml"][0]
    assert not EmailTemplate.objects.exists()
