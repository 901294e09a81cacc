"""Thin Celery tasks over the lead-scoring services; each is safe to run twice (it recomputes).

Named `leadscoring.<what>`; services enqueue them by name (`crm_core.tasking`), the beat runs
`leadscoring.decay`. Retries only on transient errors (`RETRY_TRANSIENT`).
"""

from celery import shared_task

from crm_core.tasking import RETRY_TRANSIENT

from . import services
from .models import ScoringModel


@shared_task(name="leadscoring.recompute_model", **RETRY_TRANSIENT)
def scoring_model_recompute_task(model_id: int) -> int:
    """Full recompute of one model."""
    model = ScoringModel.objects.filter(pk=model_id).first()
    if model is None:
        return 0
    return services.scoring_model_recompute(model=model).leads_scored


@shared_task(name="leadscoring.decay", **RETRY_TRANSIENT)
def scoring_decay_task() -> int:
    """Beat, daily: full recompute of every live model, so decayed points fall away."""
    return len(services.scoring_models_recompute_live())


@shared_task(name="leadscoring.rescore_pending", **RETRY_TRANSIENT)
def interactions_rescore_pending_task() -> int:
    """Drain the Redis set of contacts with new interactions and rescore their leads (coalesced).
    A failed batch is back in the set before the error: a retry, or the next drain, takes it again."""
    return services.pending_contacts_drain()


@shared_task(name="leadscoring.rescore_contacts", **RETRY_TRANSIENT)
def contacts_rescore_task(contact_ids: list[int]) -> int:
    """Rescore these contacts' leads (the path without Redis)."""
    return services.contacts_rescore(contact_ids=contact_ids)
