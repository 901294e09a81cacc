"""The editor's live preview (drawn from the unsaved form, never saved, never sendable), a refused
save's errors at their fields with the summary linking to them, and the embeddable variant of a page:
framable by other sites while every other page refuses framing."""

import pytest

from crm_core.models import Contact
from landing.abuse import form_token_make
from landing.models import LandingPage

from .test_editor import _post_data

pytestmark = pytest.mark.django_db


def test_the_preview_draws_the_unsaved_form_with_the_public_template_and_saves_nothing(client, marketer):
    client.force_login(marketer)
    data = _post_data(title="Contoso <Preview>", submit_label="Book a seat", consent_text="Send me news")
    response = client.post("/landing-pages/preview/", data)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Contoso &lt;Preview&gt;" in html
    assert "Join us" in html and "<script>" not in html  # the content, sanitised as on the public page
    assert 'for="preview-email"' in html and 'for="preview-company"' in html
    assert "Book a seat" in html and "Send me news" in html
    assert "inert" in html and 'method="post"' not in html and "_token" not in html  # cannot be sent
    assert not LandingPage.objects.exists()


def test_the_preview_draws_what_it_can_of_a_half_typed_form(client, marketer):
    client.force_login(marketer)
    data = _post_data(
        status="bogus",
        **{
            "fields-TOTAL_FORMS": "3",
            "fields-0-field_type": "no-such-type",
            "fields-0-max_length": "-5",
            "fields-1-name": "Bad Name",  # not a field name: left out
            "fields-2-name": "email",  # a repeated name: left out
        },
    )
    response = client.post("/landing-pages/preview/", data)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'name="email"' in html and "Bad Name" not in html
    assert html.count('name="email"') == 1
    junk = client.post("/landing-pages/preview/", {"fields-TOTAL_FORMS": "many", "title": "x" * 5000})
    assert junk.status_code == 200


def test_the_preview_is_for_signed_in_editors_and_only_by_post(client, marketer, sales_rep):
    assert client.post("/landing-pages/preview/", _post_data()).status_code == 302
    client.force_login(marketer)
    assert client.get("/landing-pages/preview/").status_code == 405
    client.force_login(sales_rep)  # may view landing pages: previews too
    assert client.post("/landing-pages/preview/", _post_data()).status_code == 200


def test_a_refused_save_shows_each_problem_at_its_field_and_in_the_summary(client, marketer):
    client.force_login(marketer)
    data = _post_data(slug="not a slug", contact_matching="email_last_name", **{"fields-1-label": "Firm"})
    response = client.post("/landing-pages/new/", data)
    assert response.status_code == 400
    html = response.content.decode()
    summary = response.context["error_summary"]
    assert [item["href"] for item in summary] == ["#id_slug", "#id_contact_matching"]
    # The contact matching's problem sits at the contact matching, not among the form fields'.
    assert 'id="id_contact_matching_error"' in html
    assert "needs a form field mapped to the contact" in summary[1]["text"]
    assert not response.context["fields"].non_form_errors()
    assert 'value="Firm"' in html  # what was typed stays
    assert 'aria-invalid="true"' in html
    assert not LandingPage.objects.exists()


def test_the_editor_offers_an_embed_snippet_of_the_embeddable_variant(client, marketer, settings):
    settings.SITE_URL = "https://crm.example.com"
    client.force_login(marketer)
    client.post("/landing-pages/new/", _post_data(title='Contoso "2027"'))
    page = LandingPage.objects.get()
    response = client.get(f"/landing-pages/{page.pk}/")
    snippet = response.context["embed"]["snippet"]
    assert snippet.startswith('<iframe src="https://crm.example.com/l/contoso-2027/embed/"')
    assert 'title="Contoso &quot;2027&quot;"' in snippet


def test_only_the_embeddable_variant_may_be_framed(client, page):
    public = client.get(f"/l/{page.slug}/")
    assert public["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in public["Content-Security-Policy"]

    embed = client.get(f"/l/{page.slug}/embed/")
    assert embed.status_code == 200
    assert "X-Frame-Options" not in embed
    assert "frame-ancestors *" in embed["Content-Security-Policy"]
    html = embed.content.decode()
    assert f'action="/l/{page.slug}/embed/"' in html and "landing-embed" in html
    assert '<meta name="robots" content="noindex">' in html

    sent = client.post(
        f"/l/{page.slug}/embed/",
        {"_token": form_token_make(page=page), "email": "ada@example.com", "last_name": "Lovelace"},
    )
    assert sent.status_code == 200 and page.thank_you_message in sent.content.decode()
    assert "X-Frame-Options" not in sent and "frame-ancestors *" in sent["Content-Security-Policy"]
    assert Contact.objects.filter(email="ada@example.com").exists()
    assert client.get("/landing-pages/")["X-Frame-Options"] == "DENY"


def test_the_sites_that_may_frame_the_form_come_from_settings(client, page, settings):
    settings.LANDING_EMBED_FRAME_ANCESTORS = ["https://www.example.com", "https://*.example.org"]
    embed = client.get(f"/l/{page.slug}/embed/")
    policy = embed["Content-Security-Policy"]
    assert "frame-ancestors https://www.example.com https://*.example.org" in policy
