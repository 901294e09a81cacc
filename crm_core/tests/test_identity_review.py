"""Identity conflicts: a landing page's matching rule refused the known contact with the submitted
email; the lead waits without a contact for a marketer to link or dismiss it (API, admin; the web UI's
review page is tested in workspace/tests/test_pages_identity_review.py)."""

import pytest
from django.urls import reverse

from crm_core import events
from crm_core.models import IdentityStatus, Lead, LeadStatus, LeadStatusChange
from crm_core.services import lead_identity_dismiss, lead_identity_link, lead_link_orphans
from crm_core.tests.factories import ContactFactory
from landing.models import ContactMatching
from landing.tests.factories import LandingPageFactory
from landing.tests.utils import submit

pytestmark = pytest.mark.django_db


@pytest.fixture
def known():
    return ContactFactory(email="shared@example.com", first_name="Real", last_name="Owner")


@pytest.fixture
def conflict(client, known):
    page = LandingPageFactory(contact_matching=ContactMatching.EMAIL_LAST_NAME)
    assert (
        submit(client, page, email="shared@example.com", first_name="Im", last_name="Poster").status_code
        == 200
    )
    return Lead.objects.get()


def test_a_refused_match_is_held_in_conflict_and_the_orphan_workflow_leaves_it_alone(conflict, known):
    assert (conflict.identity_status, conflict.identity_conflict_contact) == (IdentityStatus.CONFLICT, known)
    assert conflict.parent_contact is None and conflict.last_name == "Poster"

    lead_link_orphans()

    conflict.refresh_from_db()
    assert conflict.parent_contact is None
    assert not known.leads.exists()


def test_linking_gives_the_lead_its_contact_and_announces_it(
    conflict, known, marketer, django_capture_on_commit_callbacks
):
    heard = []

    def listen(sender, change, **kwargs):
        heard.append(change)

    events.records_changed.connect(listen)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            lead_identity_link(lead=conflict, actor=marketer)
    finally:
        events.records_changed.disconnect(listen)
    conflict.refresh_from_db()
    assert (conflict.parent_contact, conflict.identity_status) == (known, IdentityStatus.LINKED)
    assert conflict.updated_by == marketer
    assert any(c.entity == events.LEAD and conflict.pk in c.ids and known.pk in c.contact_ids for c in heard)


def test_dismissing_keeps_the_lead_contactless_and_disqualifies_it_on_the_trail(conflict, marketer):
    lead_identity_dismiss(lead=conflict, actor=marketer, reason="Not the same person")
    conflict.refresh_from_db()
    assert conflict.identity_status == IdentityStatus.DISMISSED and conflict.parent_contact is None
    assert conflict.status == LeadStatus.DISQUALIFIED
    change = LeadStatusChange.objects.get(lead=conflict)
    assert (change.actor, change.reason, change.to_status) == (
        marketer,
        "Not the same person",
        "disqualified",
    )
    lead_link_orphans()
    conflict.refresh_from_db()
    assert conflict.parent_contact is None


# --- API ----------------------------------------------------------------------------------------


def test_the_api_lists_conflicts_and_marketers_link_them(conflict, marketer_client, sales_client):
    other = ContactFactory(email="other@example.com")
    listed = marketer_client.get("/api/leads/?identity_status=conflict").json()["results"]
    assert [row["id"] for row in listed] == [conflict.pk]
    assert marketer_client.get("/api/leads/?identity_status=linked").json()["results"] == []
    assert marketer_client.get("/api/leads/?identity_status=weird").status_code == 400

    url = f"/api/leads/{conflict.pk}/identity-link/"
    refused = sales_client.post(url, {}, format="json")
    assert refused.status_code == 403
    assert refused.json()["detail"] == (
        "Only marketing and admin users can link or dismiss leads in identity conflict."
    )
    assert marketer_client.post(url, {"contact": 10**9}, format="json").status_code == 400
    assert marketer_client.post(url, {"colour": "red"}, format="json").status_code == 400

    linked = marketer_client.post(url, {"contact": other.pk}, format="json")
    assert linked.status_code == 200, linked.json()
    assert (linked.json()["parent_contact"], linked.json()["identity_status"]) == (other.pk, "linked")
    again = marketer_client.post(url, {}, format="json")
    assert again.status_code == 400 and "identity_status" in again.json()


def test_the_api_dismisses_with_a_reason(conflict, admin_client_api):
    response = admin_client_api.post(
        f"/api/leads/{conflict.pk}/identity-dismiss/", {"reason": "Impostor"}, format="json"
    )
    assert response.status_code == 200
    assert (response.json()["identity_status"], response.json()["status"]) == ("dismissed", "disqualified")
    assert LeadStatusChange.objects.get(lead=conflict).reason == "Impostor"


# --- Admin --------------------------------------------------------------------------------------


def test_the_admin_filters_and_reviews_conflicts(client, admin_user, conflict, known):
    client.force_login(admin_user)
    changelist = reverse("admin:crm_core_lead_changelist")
    listed = client.get(changelist + "?identity_status__exact=conflict")
    assert listed.status_code == 200 and conflict.topic in listed.content.decode()
    client.post(changelist, {"action": "identity_link_leads", "_selected_action": [conflict.pk]})
    conflict.refresh_from_db()
    assert (conflict.parent_contact, conflict.identity_status) == (known, IdentityStatus.LINKED)
