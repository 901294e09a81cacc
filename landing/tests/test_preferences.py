"""The subscription center: signed, expiring link; bulk-email consent and lists; every change audited."""

import pytest
from django.test import Client

from crm_core.models import ConsentChange, ConsentSource, ListMembership, SubscriptionStatus
from crm_core.tests.factories import ContactFactory, ListMembershipFactory, SubscriptionListFactory
from crm_core.tokens import PURPOSE_PREFERENCES, PURPOSE_PREFILL, contact_token_make
from landing.services import preferences_url

pytestmark = pytest.mark.django_db


@pytest.fixture
def contact():
    return ContactFactory(email="prefs@example.com")


@pytest.fixture
def lists(contact):
    news = SubscriptionListFactory(name="Newsletter")
    events = SubscriptionListFactory(name="Events")
    hidden = SubscriptionListFactory(name="Internal", is_public=False)
    ListMembershipFactory(contact=contact, subscription_list=news)
    return news, events, hidden


def _url(contact, purpose=PURPOSE_PREFERENCES):
    return f"/preferences/{contact_token_make(contact=contact, purpose=purpose)}/"


def test_the_page_shows_the_contacts_settings_and_public_lists(web, contact, lists):
    response = web.get(_url(contact))
    html = response.content.decode()
    assert response.status_code == 200
    assert "prefs@example.com" in html and "Newsletter" in html and "Events" in html
    assert "Internal" not in html
    assert "no-store" in response["Cache-Control"]


def test_changes_are_saved_and_each_one_is_recorded_with_time_and_source(web, contact, lists):
    news, events, hidden = lists
    url = _url(contact)

    response = web.post(url, {f"list_{events.pk}": "on", f"list_{hidden.pk}": "on"}, REMOTE_ADDR="192.0.2.7")

    assert response.status_code == 200 and "saved" in response.content.decode()
    contact.refresh_from_db()
    assert contact.do_not_bulk_email is True  # the bulk-email box was left unticked
    statuses = dict(
        ListMembership.objects.filter(contact=contact).values_list("subscription_list__name", "status")
    )
    assert statuses == {
        "Newsletter": SubscriptionStatus.UNSUBSCRIBED,
        "Events": SubscriptionStatus.SUBSCRIBED,
    }
    changes = {
        (c.field, c.subscription_list_id, c.old_value, c.new_value) for c in ConsentChange.objects.all()
    }
    assert changes == {
        ("do_not_bulk_email", None, "False", "True"),
        ("list", news.pk, "subscribed", "unsubscribed"),
        ("list", events.pk, "", "subscribed"),
    }
    assert all(
        c.source == ConsentSource.SUBSCRIPTION_CENTER and c.ip_address == "192.0.2.7" and c.changed_at
        for c in ConsentChange.objects.all()
    )

    # Sending the same choices again changes and records nothing.
    web.post(url, {f"list_{events.pk}": "on"})
    assert ConsentChange.objects.count() == 3

    web.post(url, {"bulk_email": "on", f"list_{events.pk}": "on", f"list_{news.pk}": "on"})
    contact.refresh_from_db()
    assert contact.do_not_bulk_email is False
    assert ConsentChange.objects.count() == 5


def test_an_expired_link_is_410_and_a_bad_or_foreign_link_is_400(web, contact, settings):
    assert web.get("/preferences/forged-token/").status_code == 400
    assert web.get(_url(contact, purpose=PURPOSE_PREFILL)).status_code == 400
    url = _url(contact)
    settings.CONTACT_TOKEN_MAX_AGE = -1
    assert web.get(url).status_code == 410
    assert web.post(url, {}).status_code == 410
    contact.refresh_from_db()
    assert contact.do_not_bulk_email is False and not ConsentChange.objects.exists()


def test_a_link_stops_working_when_the_email_changes(web, contact):
    url = _url(contact)
    contact.email = "new@example.com"
    contact.save()
    assert web.get(url).status_code == 400


def test_the_form_is_csrf_protected(contact):
    client = Client(enforce_csrf_checks=True)
    assert client.post(_url(contact), {"bulk_email": "on"}).status_code == 403


def test_preferences_url_is_absolute_and_opens_the_center(web, contact, settings):
    settings.SITE_URL = "https://crm.example.com"
    url = preferences_url(contact=contact)
    assert url.startswith("https://crm.example.com/preferences/")
    assert web.get(url.removeprefix("https://crm.example.com")).status_code == 200
