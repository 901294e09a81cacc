import pytest
from django.core import mail
from django.test import Client
from django.utils.html import escape

from crm_core.models import Interaction
from crm_core.tests.factories import ContactFactory
from crm_core.tokens import PURPOSE_PREFERENCES, contact_token_read

from .. import adapters, emails, services
from ..models import OutboundEmail
from .factories import SegmentMemberFactory, make_journey, send_email_step


def test_template_validation_refuses_template_code_and_unknown_fields():
    ok = {"subject": "Hi {{ contact.first_name }}", "html": "<p>{{ account.name }} {{ unsubscribe_url }}</p>"}
    assert emails.validate_email_config(ok) == {}
    assert "template tags" in emails.validate_email_config({**ok, "html": "{% load x %}"})["html"]
    assert (
        "unknown merge field"
        in emails.validate_email_config({**ok, "subject": "{{ user.password }}"})["subject"]
    )
    assert (
        "unknown merge field"
        in emails.validate_email_config({**ok, "html": "{{ contact.__class__ }}"})["html"]
    )
    bad_link = '<a href="https://x.com/?e={{ contact.email }}">x</a>'
    assert "inside links" in emails.validate_email_config({**ok, "html": bad_link})["html"]


@pytest.fixture
def sent_email(db):
    contact = ContactFactory(first_name="Ann")
    SegmentMemberFactory(segment_id=1, contact=contact)
    journey = services.journey_go_live(journey=make_journey(steps=[send_email_step()]))
    services.journeys_tick(inline=True)
    row = OutboundEmail.objects.get(journey=journey)
    return row, mail.outbox[0]


def _path(url: str) -> str:
    return url.replace("http://127.0.0.1:8000", "")


def test_open_pixel_records_an_open_once_per_load(sent_email):
    row, message = sent_email
    html = message.alternatives[0][0]
    pixel = html.split('<img src="')[1].split('"')[0]
    response = Client().get(_path(pixel))
    assert response.status_code == 200 and response["Content-Type"] == "image/gif"
    Client().get(_path(pixel))
    row.refresh_from_db()
    assert row.open_count == 2 and row.first_opened_at is not None
    opens = Interaction.objects.filter(kind="email_open", contact=row.contact)
    assert opens.count() == 2
    expected = {"journey": row.journey_id, "step": row.step_id, "email": "welcome", "outbox": row.pk}
    assert expected.items() <= opens.first().properties.items()


def test_click_redirects_only_to_the_links_own_url(sent_email):
    row, message = sent_email
    html = message.alternatives[0][0]
    link = html.split('<a href="')[1].split('"')[0]
    assert "/t/c/" in link
    response = Client().get(_path(link.replace("&amp;", "&")))
    assert response.status_code == 302
    assert response["Location"] == "https://example.com/offer?a=1&amp;b=2"
    click = Interaction.objects.get(kind="email_click")
    assert click.properties["url"] == "https://example.com/offer?a=1&amp;b=2"
    row.refresh_from_db()
    assert row.click_count == 1 and row.first_opened_at is not None


def test_forged_or_unknown_tokens_get_404(sent_email):
    row, _ = sent_email
    client = Client()
    assert client.get("/t/o/abc:def.gif").status_code == 404
    assert client.get(f"/t/c/{emails.click_token(row.pk, 7)}/").status_code == 404  # no 8th link
    assert client.get(f"/t/o/{emails.open_token(row.pk + 1000)}.gif").status_code == 404
    forged = emails.click_token(row.pk, 0)[:-2] + "xx"
    assert client.get(f"/t/c/{forged}/").status_code == 404
    assert not Interaction.objects.filter(kind__in=["email_open", "email_click"]).exists()


@pytest.mark.django_db
def test_no_tracking_for_contacts_who_do_not_allow_it():
    contact = ContactFactory(track_email=False)
    SegmentMemberFactory(segment_id=1, contact=contact)
    services.journey_go_live(journey=make_journey(steps=[send_email_step()]))
    services.journeys_tick(inline=True)
    html = mail.outbox[0].alternatives[0][0]
    assert "/t/o/" not in html and "/t/c/" not in html
    assert "https://example.com/offer" in html and "/preferences/" in html


def test_unsubscribe_link_and_header_open_the_recipients_subscription_center(sent_email):
    row, message = sent_email
    url = message.extra_headers["List-Unsubscribe"].strip("<>")
    assert url in message.body and escape(url) in message.alternatives[0][0]
    # The batch sender's URL (route reversed once) has the same shape as the one-off URL.
    one_off = adapters.subscription_center_url(row.contact)
    assert one_off.rsplit("/", 2)[0] == url.rsplit("/", 2)[0]
    token = url.rstrip("/").rsplit("/", 1)[1]
    assert contact_token_read(token=token, purpose=PURPOSE_PREFERENCES) == row.contact
    assert Client().get(_path(url)).status_code == 200
    assert message.extra_headers["Message-ID"] == f"<journey-email-{row.pk}@127.0.0.1>"
