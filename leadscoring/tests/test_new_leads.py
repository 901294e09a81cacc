"""New leads, and orphan leads the workflow links to a contact, are scored within seconds: the change
notices put their contacts into the incremental pending set (the real Redis) and its drain scores them."""

from datetime import UTC, datetime, timedelta

import pytest

from conftest import wait_until
from crm_core.models import InteractionKind, Lead
from crm_core.services import lead_create, lead_link_orphans, lead_update
from crm_core.tests.factories import ContactFactory, InteractionFactory, OrphanLeadFactory
from leadscoring import services
from leadscoring.models import LeadScore
from leadscoring.services import pending_contacts_drain, pending_contacts_key, scoring_model_recompute

from .factories import PrimaryScoringModelFactory, ScoringRuleFactory


@pytest.fixture
def drains_scheduled(monkeypatch):
    """The drain task's enqueues (their Celery options), counted instead of left on a queue no worker
    reads; the pending set itself is the real Redis."""
    from leadscoring import tasks

    scheduled = []
    monkeypatch.setattr(
        tasks.interactions_rescore_pending_task,
        "apply_async",
        lambda args=(), kwargs=None, **options: scheduled.append(options),
    )
    return scheduled


@pytest.fixture
def engaged_contact():
    """A primary model giving 25 points per form submission, and a contact who submitted one yesterday."""
    model = PrimaryScoringModelFactory(sales_ready_threshold=1000)
    ScoringRuleFactory(model=model, interaction_kind=InteractionKind.FORM_SUBMIT, points=25)
    contact = ContactFactory(email="ann@example.com")
    InteractionFactory(
        contact=contact,
        kind=InteractionKind.FORM_SUBMIT,
        occurred_at=datetime.now(UTC) - timedelta(days=1),
    )
    return model, contact


def _pending(client) -> set[int]:
    return {int(pk) for pk in client.smembers(pending_contacts_key())}


@pytest.mark.django_db(transaction=True)
def test_an_orphan_lead_the_workflow_links_is_scored_by_the_drain(
    engaged_contact, clean_redis, drains_scheduled
):
    model, contact = engaged_contact
    orphan = OrphanLeadFactory(email="ANN@example.com")
    scoring_model_recompute(model=model)
    assert LeadScore.objects.get(lead=orphan, model=model).score == 0

    assert lead_link_orphans(lead_ids=[orphan.pk]).leads_linked == 1
    assert _pending(clean_redis) == {contact.pk}
    assert drains_scheduled == [{"countdown": services.COALESCE_SECONDS}]

    assert pending_contacts_drain() == 1
    assert LeadScore.objects.get(lead=orphan, model=model).score == 25
    assert Lead.objects.get(pk=orphan.pk).score == 25
    # The drain's own notices (the leads' score copy) queue nothing again.
    assert _pending(clean_redis) == set() and len(drains_scheduled) == 1


@pytest.mark.django_db(transaction=True)
def test_a_new_lead_of_a_known_contact_is_scored_by_the_drain(engaged_contact, clean_redis, drains_scheduled):
    model, contact = engaged_contact
    lead = lead_create(topic="Widgets", last_name="Ann", parent_contact=contact)
    assert _pending(clean_redis) == {contact.pk}
    assert pending_contacts_drain() == 1
    assert LeadScore.objects.get(lead=lead, model=model).score == 25
    assert Lead.objects.get(pk=lead.pk).score == 25

    lead_update(lead=lead, topic="Gadgets")  # other fields: nothing to rescore
    assert _pending(clean_redis) == set() and len(drains_scheduled) == 1


@pytest.mark.worker
def test_an_orphan_lead_linked_to_a_contact_is_scored_within_10_seconds(
    celery_worker_process, clean_redis, engaged_contact
):
    model, _ = engaged_contact
    orphan = OrphanLeadFactory(email="ann@example.com")
    scoring_model_recompute(model=model)
    lead_link_orphans(lead_ids=[orphan.pk])
    wait_until(lambda: Lead.objects.get(pk=orphan.pk).score == 25, timeout=10)
    assert LeadScore.objects.get(lead=orphan, model=model).score == 25
