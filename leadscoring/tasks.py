"""Thin Celery tasks over the lead-scoring services."""

from celery import shared_task
from django.db import OperationalError

from . import services
from .models import ScoringModel


@shared_task(autoretry_for=(OperationalError,), retry_backoff=True, retry_jitter=True, max_retries=5)
def scoring_model_recompute_task(model_id: int) -> int:
    """Full recompute of one model; safe to run twice (it recomputes the same scores)."""
    model = ScoringModel.objects.filter(pk=model_id).first()
    if model is None:
        return 0
    return services.scoring_model_recompute(model=model).leads_scored
