"""Decay: points fade as interactions age, so every live model is recomputed daily.

A model's decay gives each interaction a weight from its age in days: none 1; window 1 within the last
N days, else 0; linear max(0, 1 - age/N); half-life 0.5^(age/N). PostgreSQL computes the weights in
the recompute's SQL (score_sql.py, in numeric), the portable path in Python with Decimal
(portable.py), so both round alike. Scores only change with time when nothing is recorded, hence
the daily run (the beat task `leadscoring.decay`).
"""

from __future__ import annotations

from datetime import datetime

from ..models import ScoringModel, ScoringModelStatus
from .outcome import RecomputeResult
from .recompute import scoring_model_recompute


def scoring_models_recompute_live(*, now: datetime | None = None) -> dict[int, RecomputeResult]:
    """Full recompute of every live model (the daily decay run); each model in its own transaction."""
    return {
        model.pk: scoring_model_recompute(model=model, now=now)
        for model in ScoringModel.objects.filter(status=ScoringModelStatus.LIVE).order_by("pk")
    }
