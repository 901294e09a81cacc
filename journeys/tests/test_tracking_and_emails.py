import importlib
from types import SimpleNamespace

import pytest
from django.core import mail
from django.test import Client
from django.utils.html import escape

from crm_core.events import RecordsChanged
from crm_core.models import ConsentLevel, Interaction
from crm_core.tests.factories import ContactFactory
from crm_core.tokens import PURPOSE_PREFERENCES, contact_token_read

from .. import adapters, services
from ..email_templates import extract_links, validate_email_config
from ..engine.messages import prepare, render
from ..models import OutboundEmail, Step, TrackedLink
from ..tracking_tokens import click_token, open_token
from .factories import SegmentMemberFactory, make_journey, send_email_step

SITE = "http://127.0.0.1:8000"
OFFER_AS_WRITTEN = 'href="https://example.com/offer?a=1&amp;b=2"'
OFFER = "https://example.com/offer?a=1&b=2"


def test_template_validation_refuses_template_code_and_unknown_fields():
    ok = {"subject": "Hi {{ contact.first_name }}", "html": "<p>{{ account.name }} {{ unsubscribe_url }}</p>"}
    assert validate_email_config(ok) == {}
    assert "template tags" in validate_email_config({**ok, "html": "{% load x %}"})["html"]
    assert "unknown merge field" in validate_email_config({**ok, "subject": "{{ user.password }}"})["subject"]
    assert "unknown merge field" in validate_email_config({**ok, "html": "{{ contact.__class__ }}"})["html"]
    bad_link = '<a href="https://x.com/?e={{ contact.email }}">x</a>'
    assert "inside links" in validate_email_config({**ok, "html": bad_link})["html"]


@pytest.fixture
def sent_email(db):
    contact = ContactFactory(first_name="Ann", consent_level=ConsentLevel.TRACKING)
    SegmentMemberFactory(segment_id=1, contact=contact)
    journey = services.journey_go_live(journey=make_journey(steps=[send_email_step()]))
    services.journeys_tick(inline=True)
    row = OutboundEmail.objects.get(journey=journey)
    return row, mail.outbox[0]


def _path(url: str) -> str:
    return url.replace(SITE, "")


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
    assert link == escape(f"{SITE}/t/c/{click_token(row.pk, 0)}/")
    response = Client().get(_path(link))
    assert response.status_code == 302
    # The query string survives: the URL the href means, not its escaped spelling.
    assert response["Location"] == OFFER
    assert TrackedLink.objects.get(step=row.step).url == OFFER
    click = Interaction.objects.get(kind="email_click")
    assert click.properties["url"] == OFFER
    row.refresh_from_db()
    assert row.click_count == 1 and row.first_opened_at is not None


def test_forged_or_unknown_tokens_get_404(sent_email):
    row, _ = sent_email
    client = Client()
    assert client.get("/t/o/abc:def.gif").status_code == 404
    assert client.get(f"/t/c/{click_token(row.pk, 7)}/").status_code == 404  # no 8th link
    assert client.get(f"/t/o/{open_token(row.pk + 1000)}.gif").status_code == 404
    forged = click_token(row.pk, 0)[:-2] + "xx"
    assert client.get(f"/t/c/{forged}/").status_code == 404
    assert not Interaction.objects.filter(kind__in=["email_open", "email_click"]).exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "fields",
    [
        {"consent_level": ConsentLevel.TRACKING, "track_email": False},
        {"consent_level": ConsentLevel.MARKETING, "track_email": True},  # consent below tracking
    ],
    ids=["tracking off", "consent too low"],
)
def test_no_tracking_for_contacts_who_do_not_allow_it_and_links_stay_as_written(fields):
    contact = ContactFactory(**fields)
    SegmentMemberFactory(segment_id=1, contact=contact)
    services.journey_go_live(journey=make_journey(steps=[send_email_step()]))
    services.journeys_tick(inline=True)
    html = mail.outbox[0].alternatives[0][0]
    assert "/t/o/" not in html and "/t/c/" not in html
    assert OFFER_AS_WRITTEN in html and "&amp;amp;" not in html
    assert 'href="mailto:help@example.com"' in html and "/preferences/" in html


@pytest.mark.django_db
def test_a_minor_whose_guardian_consented_is_tracked_at_the_tracking_level():
    contact = ContactFactory(consent_level=ConsentLevel.TRACKING, is_minor=True, guardian_consent=True)
    SegmentMemberFactory(segment_id=1, contact=contact)
    services.journey_go_live(journey=make_journey(steps=[send_email_step()]))
    services.journeys_tick(inline=True)
    html = mail.outbox[0].alternatives[0][0]
    assert "/t/o/" in html and "/t/c/" in html and OFFER_AS_WRITTEN not in html


def test_opens_and_clicks_are_recorded_through_crm_core_and_announced(
    sent_email, notices, django_capture_on_commit_callbacks
):
    row, message = sent_email
    html = message.alternatives[0][0]
    pixel = html.split('<img src="')[1].split('"')[0]
    link = html.split('<a href="')[1].split('"')[0]
    with django_capture_on_commit_callbacks(execute=True):
        Client().get(_path(pixel))
        Client().get(_path(link))
    opened = Interaction.objects.get(kind="email_open")
    clicked = Interaction.objects.get(kind="email_click")
    contact = frozenset({row.contact_id})
    assert notices == [
        RecordsChanged("interaction", "created", frozenset({opened.pk}), contact),
        RecordsChanged("interaction", "created", frozenset({clicked.pk}), contact),
    ]


# A template with links the old pattern matching got wrong: a commented-out link, a link inside a
# script, an upper-case tag in single quotes with an escaped query string and a merge field in
# another attribute, an unquoted href, an attribute that only ends in "href", an in-page anchor.
TRICKY_HTML = (
    '<html><body><!-- <a href="https://commented.example/">old</a> -->'
    "<A class='btn' HREF='https://example.com/a?x=1&amp;y=2' title=\"{{ contact.first_name }}\">A</A> "
    '<a href=https://example.com/b>B</a> <a data-href="https://data.example/">not a link</a> '
    '<a href="#top">top</a><script>var s = \'<a href="https://script.example/">\';</script>'
    "</body></html>"
)
TRICKY_TEXT = "A: https://example.com/a?x=1&y=2\nB: https://example.com/b\n"


def _tricky_render(*, track: bool):
    step = Step(pk=5, config={"subject": "Hi", "html": TRICKY_HTML, "text": TRICKY_TEXT})
    return render(
        prepare(step),
        outbox_id=7,
        records={"contact": SimpleNamespace(first_name="Ann & Co")},
        track=track,
        unsubscribe_url="https://nurture.example/preferences/x/",
    )


def test_links_are_found_by_the_html_parser_and_stored_unescaped():
    assert extract_links(TRICKY_HTML) == ["https://example.com/a?x=1&y=2", "https://example.com/b"]
    ok = {"subject": "Hi", "text": "", "html": TRICKY_HTML}
    assert validate_email_config(ok) == {}
    commented_merge = '<!-- <a href="https://x.example/?e={{ contact.email }}">x</a> --><p>hi</p>'
    assert validate_email_config({**ok, "html": commented_merge}) == {}
    no_host = "<p><A HREF='https:///path?a=1&amp;b=2'>x</A></p>"
    assert "has no host" in validate_email_config({**ok, "html": no_host})["html"]


def test_tracked_links_are_rewritten_in_place_and_escaped():
    _, html, text, _ = _tricky_render(track=True)
    first = f"{SITE}/t/c/{click_token(7, 0)}/"
    second = f"{SITE}/t/c/{click_token(7, 1)}/"
    assert f"<A class='btn' HREF='{escape(first)}' title=\"Ann &amp; Co\">A</A>" in html
    assert f"<a href={escape(second)}>B</a>" in html
    for untouched in ("https://commented.example/", "https://data.example/", 'href="#top"', "script.example"):
        assert untouched in html
    assert f"A: {first}\nB: {second}\n" in text
    assert "/t/o/" in html


def test_untracked_links_are_kept_exactly_as_written():
    _, html, text, _ = _tricky_render(track=False)
    body = TRICKY_HTML.replace("{{ contact.first_name }}", "Ann &amp; Co")
    assert html.startswith(body[: body.index("</body>")])
    assert "/t/c/" not in html and "/t/o/" not in html
    assert text.startswith(TRICKY_TEXT)


@pytest.mark.django_db
def test_links_stored_escaped_by_earlier_versions_are_unescaped_by_the_migration():
    from django.apps import apps

    migration = importlib.import_module("journeys.migrations.0006_tracked_link_urls_unescaped")
    make_journey(steps=[send_email_step()])
    TrackedLink.objects.update(url="https://example.com/offer?a=1&amp;b=2")
    migration.unescape_tracked_link_urls(apps, None)
    assert TrackedLink.objects.get().url == OFFER


def test_unsubscribe_link_and_header_open_the_recipients_subscription_center(sent_email):
    row, message = sent_email
    one_click = message.extra_headers["List-Unsubscribe"].strip("<>")
    assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    url = one_click.removesuffix("unsubscribe/")
    assert url in message.body and escape(url) in message.alternatives[0][0]
    # The batch sender's URL (route reversed once) has the same shape as the one-off URL.
    one_off = adapters.subscription_center_url(row.contact)
    assert one_off.rsplit("/", 2)[0] == url.rsplit("/", 2)[0]
    token = url.rstrip("/").rsplit("/", 1)[1]
    assert contact_token_read(token=token, purpose=PURPOSE_PREFERENCES) == row.contact
    assert Client().get(_path(url)).status_code == 200
    assert message.extra_headers["Message-ID"] == f"<journey-email-{row.pk}@127.0.0.1>"


def test_one_click_unsubscribe_stops_bulk_email_on_post_only(sent_email):
    row, message = sent_email
    one_click = _path(message.extra_headers["List-Unsubscribe"].strip("<>"))
    assert Client().get(one_click).status_code == 302  # a scanner's GET changes nothing
    row.contact.refresh_from_db()
    assert row.contact.do_not_bulk_email is False
    response = Client(enforce_csrf_checks=True).post(one_click, {"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    row.contact.refresh_from_db()
    assert row.contact.do_not_bulk_email is True
    assert Client().post(one_click.replace("/preferences/", "/preferences/x")).status_code == 400
