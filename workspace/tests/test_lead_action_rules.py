"""The workspace's lead actions obey the CRM's rules like every other surface: the owner rule, and a
change notice for every move (the API, admin and landing paths: crm_core/tests/test_integrity.py)."""

from contextlib import contextmanager

import pytest
from django.urls import reverse

from crm_core.models import Lead, LeadStatus, LeadStatusChange
from crm_core.tests.factories import LeadFactory, SalesRepFactory
from crm_core.tests.notices import notices_sent

pytestmark = pytest.mark.django_db


@pytest.fixture
def notices(django_capture_on_commit_callbacks):
    """A context manager: the change notices sent while its block runs (on-commit callbacks executed)."""

    @contextmanager
    def capture():
        with notices_sent() as seen, django_capture_on_commit_callbacks(execute=True):
            yield seen

    return capture


def noticed(seen, entity, pk) -> bool:
    return any(n.entity == entity and (n.ids is None or pk in n.ids) for n in seen)


@pytest.mark.parametrize("action", ["accept", "qualify"])
def test_a_rep_cannot_act_on_another_reps_lead_in_the_web_ui(client, sales_rep, action):
    client.force_login(sales_rep)
    lead = LeadFactory(owner=SalesRepFactory(), status=LeadStatus.MARKETING_QUALIFIED)
    response = client.post(reverse("workspace:lead-action", args=[lead.pk, action]))
    assert response.status_code == 403
    assert Lead.objects.get(pk=lead.pk).status == LeadStatus.MARKETING_QUALIFIED


def test_a_web_ui_lead_action_announces_the_move(client, sales_rep, notices):
    client.force_login(sales_rep)
    lead = LeadFactory(owner=sales_rep, status=LeadStatus.MARKETING_QUALIFIED)
    with notices() as seen:
        response = client.post(reverse("workspace:lead-action", args=[lead.pk, "accept"]))
    assert response.status_code == 302
    assert noticed(seen, "lead", lead.pk)
    assert LeadStatusChange.objects.get(lead=lead).actor_id == sales_rep.pk
