"""The identity review page: marketers link or dismiss the leads a landing page held back because the
known contact with the submitted email did not match (the services and the API are tested in
crm_core/tests/test_identity_review.py)."""

import pytest
from django.urls import reverse

from crm_core.models import IdentityStatus, Lead, LeadStatus
from crm_core.tests.factories import ContactFactory, MarketerFactory
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


def test_marketers_review_conflicts_in_the_web_ui(client, conflict, known):
    client.force_login(MarketerFactory(username="mia"))
    page = client.get(reverse("workspace:identity-review"))
    html = page.content.decode()
    assert page.status_code == 200
    assert f'href="{reverse("workspace:identity-review")}"' in html  # in the navigation
    assert f'data-lead-id="{conflict.pk}"' in html and "Poster" in html and "Owner" in html

    done = client.post(reverse("workspace:identity-link", args=[conflict.pk]), follow=True)
    assert done.redirect_chain[-1][0] == reverse("workspace:identity-review")
    assert "linked to its contact" in done.content.decode()
    assert f'data-lead-id="{conflict.pk}"' not in done.content.decode()
    conflict.refresh_from_db()
    assert conflict.parent_contact == known

    again = client.post(reverse("workspace:identity-dismiss", args=[conflict.pk]), follow=True)
    assert "Only a lead in identity conflict can be reviewed" in again.content.decode()


def test_the_web_ui_dismisses_and_refuses_sales(client, conflict, sales_rep):
    client.force_login(sales_rep)
    assert client.get(reverse("workspace:identity-review")).status_code == 403
    assert client.post(reverse("workspace:identity-dismiss", args=[conflict.pk])).status_code == 403

    client.force_login(MarketerFactory(username="mia"))
    bad = client.post(
        reverse("workspace:identity-link", args=[conflict.pk]), {"contact": "99999999"}, follow=True
    )
    assert "No contact has that id." in bad.content.decode()
    client.post(reverse("workspace:identity-dismiss", args=[conflict.pk]), {"reason": "Bot"})
    conflict.refresh_from_db()
    assert (conflict.identity_status, conflict.status) == (IdentityStatus.DISMISSED, LeadStatus.DISQUALIFIED)
