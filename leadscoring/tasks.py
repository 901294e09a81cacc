"""Thin Celery tasks over the lead-scoring services; each is safe to run twice (it recomputes)."""

from celery import shared_task
from django.db import OperationalError

from . import services
from .models import ScoringModel


@shared_task(autoretry_for=(OperationalError,), retry_backoff=True, retry_jitter=True, max_retries=5)
def scoring_model_recompute_task(model_id: int) -> int:
    """Full recompute of one model."""
    model = ScoringModel.objects.filter(pk=model_id).first()
    if model is None:
        return 0
    return services.scoring_model_recompute(model=model).leads_scored


@shared_task(autoretry_for=(OperationalError,), retry_backoff=True, retry_jitter=True, max_retries=5)
def scoring_decay_task() -> int:
    """Beat, daily: full recompute of every live model, so decayed points fall away."""
    return len(services.scoring_models_recompute_live())


@shared_task(autoretry_for=(Exception,), retry_backoff=True, retry_jitter=True, max_retries=8)
def interactions_rescore_pending_task() -> int:
    """Drain the Redis set of contacts with new interactions and rescore their leads (coalesced)."""
    return services.pending_contacts_drain()


@shared_task(autoretry_for=(OperationalError,), retry_backoff=True, retry_jitter=True, max_retries=5)
def contacts_rescore_task(contact_ids: list[int]) -> int:
    """Rescore these contacts' leads (the path without Redis)."""
    return services.contacts_rescore(contact_ids=contact_ids)
