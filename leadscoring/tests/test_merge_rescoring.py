"""A merge moves the other contact's interactions to the survivor; the merge's change notices put the
survivor into the incremental pending set, and its drain scores the survivor's leads with them."""

from datetime import UTC, datetime, timedelta

import pytest

from crm_core.models import InteractionKind, Lead
from crm_core.services import contacts_merge
from crm_core.tests.factories import ContactFactory, InteractionFactory, LeadFactory
from leadscoring.models import LeadScore
from leadscoring.services import pending_contacts_drain, pending_contacts_key, scoring_model_recompute

from .factories import PrimaryScoringModelFactory, ScoringRuleFactory


@pytest.fixture
def drains_not_sent(monkeypatch):
    """The drain task's enqueues are dropped (no worker reads them); the pending set is the real Redis."""
    from leadscoring import tasks

    monkeypatch.setattr(tasks.interactions_rescore_pending_task, "apply_async", lambda *a, **k: None)


@pytest.mark.django_db(transaction=True)
def test_the_survivors_leads_are_rescored_with_the_moved_interactions(clean_redis, drains_not_sent):
    model = PrimaryScoringModelFactory(sales_ready_threshold=1000)
    ScoringRuleFactory(model=model, interaction_kind=InteractionKind.FORM_SUBMIT, points=25)
    keep, gone = ContactFactory(), ContactFactory()
    lead = LeadFactory(parent_contact=keep)
    InteractionFactory(
        contact=gone, kind=InteractionKind.FORM_SUBMIT, occurred_at=datetime.now(UTC) - timedelta(days=1)
    )
    scoring_model_recompute(model=model)
    clean_redis.delete(pending_contacts_key())
    assert LeadScore.objects.get(lead=lead, model=model).score == 0

    contacts_merge(survivor_id=keep.pk, other_id=gone.pk)

    assert {int(pk) for pk in clean_redis.smembers(pending_contacts_key())} == {keep.pk}
    assert pending_contacts_drain() == 1
    assert Lead.objects.get(pk=lead.pk).score == 25
