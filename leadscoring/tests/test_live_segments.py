"""A lead that scoring makes sales-ready reaches the live segments that read sales_ready, by notice."""

from datetime import UTC, datetime, timedelta

import pytest
from django.core.cache import cache
from django.db import transaction

from conftest import wait_until
from crm_core.models import InteractionKind, Lead
from crm_core.services import interactions_record
from crm_core.tests.factories import LeadFactory
from leadscoring import services
from leadscoring.services import drain_scheduled_key, pending_contacts_key, scoring_model_recompute
from segments.models import Segment, SegmentMembership
from segments.services import DIRTY_KEY, SCHEDULED_KEY, segment_create, segment_go_live

from .factories import PrimaryScoringModelFactory, ScoringRuleFactory

SALES_READY_CONTACTS = {
    "entity": "contact",
    "match": "all",
    "conditions": [
        {
            "related": "leads",
            "quantifier": "exists",
            "match": "all",
            "conditions": [{"field": "sales_ready", "op": "eq", "value": True}],
        }
    ],
}


@pytest.fixture
def nothing_pending():
    """No refresh or rescore left marked or scheduled by earlier tests of this session."""
    keys = [DIRTY_KEY.format(entity=entity) for entity in ("contact", "lead", "interaction")]
    cache.delete_many([SCHEDULED_KEY, *keys])
    services.redis_client().delete(pending_contacts_key(), drain_scheduled_key())
    yield keys
    services.redis_client().delete(pending_contacts_key(), drain_scheduled_key())


def members(segment) -> set[int]:
    return set(SegmentMembership.objects.filter(segment=segment).values_list("contact_id", flat=True))


@pytest.mark.worker
def test_a_lead_turning_sales_ready_joins_a_live_segment_within_10_seconds(
    celery_worker_process, nothing_pending
):
    model = PrimaryScoringModelFactory(sales_ready_threshold=50)
    ScoringRuleFactory(model=model, interaction_kind=InteractionKind.FORM_SUBMIT, points=25)
    lead = LeadFactory()
    scoring_model_recompute(model=model)
    segment = segment_go_live(segment=segment_create(name="sales-ready", definition=SALES_READY_CONTACTS))
    wait_until(lambda: Segment.objects.get(pk=segment.pk).refreshed_at is not None, timeout=10)
    assert members(segment) == set()
    # Nothing is marked changed: only a notice that leads changed can refresh the segment from here.
    assert not any(cache.get(key) for key in nothing_pending)

    with transaction.atomic():
        interactions_record(
            rows=[
                {
                    "contact_id": lead.parent_contact_id,
                    "kind": InteractionKind.FORM_SUBMIT,
                    "occurred_at": datetime.now(UTC) - timedelta(seconds=1),
                    "properties": {"form": form},
                }
                for form in ("demo", "pricing")
            ]
        )
    wait_until(lambda: members(segment) == {lead.parent_contact_id}, timeout=10)
    assert Lead.objects.values_list("score", "sales_ready").get(pk=lead.pk) == (50, True)
