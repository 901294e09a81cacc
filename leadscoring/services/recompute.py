"""Recompute a scoring model's scores, now or in the worker: the one place that picks the path.

PostgreSQL runs the set-based statements of `sql.py`; other databases (the embedded SQLite default)
the ORM path of `portable.py`, with the same results. `crm_core.sqlpath.postgres_sql()` decides.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from crm_core import sqlpath, tasking

from ..models import ScoringModel
from .outcome import RecomputeResult
from .portable import recompute_portable
from .sql import recompute_sql


@transaction.atomic
def scoring_model_recompute(
    *, model: ScoringModel, lead_ids: Iterable[int] | None = None, now: datetime | None = None
) -> RecomputeResult:
    """Recompute the scores of all leads (or of `lead_ids`) under `model`, as of `now`.

    Upserts the score table; for the primary live model also has crm_core copy score, grade and
    sales_ready onto the leads (only where they changed) and runs the sales-ready hand-off (handoff.py).
    """
    now = now or timezone.now()
    if lead_ids is not None:
        lead_ids = sorted(set(lead_ids))
        if not lead_ids:
            return RecomputeResult()
    if sqlpath.postgres_sql():
        return recompute_sql(model=model, lead_ids=lead_ids, now=now)
    return recompute_portable(model=model, lead_ids=lead_ids, now=now)


def scoring_model_schedule_recompute(*, model: ScoringModel) -> None:
    """Recompute the model in the worker once the current transaction commits."""
    model_id = model.pk
    transaction.on_commit(lambda: tasking.enqueue("leadscoring.recompute_model", model_id=model_id))
