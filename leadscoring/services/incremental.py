"""Incremental rescoring: the hooks for new interactions and new leads, and the drain of the pending set.

Other apps call `interactions_recorded(contact_ids=...)` after creating interactions (inside their
transaction or not); lead scoring's own `records_changed` subscriber in leadscoring/apps.py does it
for every notice of created interactions, and calls `leads_linked(...)` for every notice of leads
created or given a parent contact (the orphan-lead workflow, a conversion, an import, an edit), so a
new lead is scored within seconds instead of at its contact's next interaction or the daily run.
Once that transaction commits, the contact ids join a Redis set and one coalescing task is scheduled
(a Redis flag keeps it to one pending task); the task drains the set in batches and recomputes those
contacts' leads under every live model. A burst of 10,000 interactions is a few batched recomputes,
not 10,000 tasks. Without Redis (the embedded default) each call enqueues its own task with the ids.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.conf import settings
from django.db import transaction

from crm_core import tasking
from crm_core.models import Interaction, Lead
from crm_core.redis_pool import redis_client as shared_redis_client

from ..conditions import condition_entities
from ..models import ScoringModel, ScoringModelStatus, ScoringRule
from .recompute import scoring_model_recompute
from .rows_portable import scoped

COALESCE_SECONDS = getattr(settings, "LEADSCORING_COALESCE_SECONDS", 2)
DRAIN_BATCH_SIZE = getattr(settings, "LEADSCORING_DRAIN_BATCH_SIZE", 5_000)


def _key(name: str) -> str:
    """A Redis key of lead scoring, under the cache's key prefix (one per installation or test run)."""
    return f"{settings.CACHES['default'].get('KEY_PREFIX', '')}leadscoring:{name}"


def pending_contacts_key() -> str:
    return _key("pending-contacts")


def drain_scheduled_key() -> str:
    return _key("drain-scheduled")


def redis_client():
    """A client of the Redis that holds the pending set (`settings.REDIS_URL`), on the process's
    shared connection pool (crm_core/redis_pool.py): a notice reuses a connection, never opens one."""
    return shared_redis_client()


def interactions_recorded(
    *, contact_ids: Iterable[int], interaction_ids: Iterable[int] | None = None
) -> None:
    """Tell lead scoring that these contacts have new interactions; their leads are rescored soon.

    Call it after creating interactions; the work is queued when the current transaction commits.
    With `interaction_ids` (the new rows) only the contacts of interactions a live model can score
    are queued: of a kind one of its rules reads, or any kind if one of its condition rules reads
    interactions. (A journey's 100,000 `email_sent` rows rescore no one when no rule reads them.)
    """
    if interaction_ids is not None:
        contact_ids = _scored_contacts(list(interaction_ids), contact_ids)
    _contacts_pending(contact_ids)


def _scored_contacts(interaction_ids: list[int], contact_ids: Iterable[int]) -> Iterable[int]:
    """The contacts of these interactions that a live model's rules read (one query for the rules,
    one over the new rows by id)."""
    kinds = set()
    live_rules = ScoringRule.objects.filter(model__status=ScoringModelStatus.LIVE)
    for kind, condition in live_rules.values_list("interaction_kind", "condition"):
        if kind:
            kinds.add(kind)
        elif "interaction" in condition_entities(condition):
            return contact_ids
    if not kinds or not interaction_ids:
        return []
    rows = Interaction.objects.filter(id__any_of=interaction_ids, kind__in=sorted(kinds)).order_by()
    return rows.values_list("contact_id", flat=True).distinct()


def leads_linked(*, lead_ids: Iterable[int] | None, contact_ids: Iterable[int] | None) -> None:
    """Tell lead scoring that these leads are new or have a new parent contact; the leads of their
    contacts are rescored soon, as for new interactions.

    `contact_ids`: the leads' contacts when the caller knows them (empty: none, orphan leads), else
    they are read from `lead_ids` (None too: nothing to do, the daily run scores them). An orphan
    lead has no contact to rescore by: it is scored once the orphan-lead workflow links it.
    """
    if contact_ids is None:
        if lead_ids is None or not _scoring_live():
            return
        leads = Lead.objects.filter(parent_contact__isnull=False).values_list("parent_contact_id", flat=True)
        contact_ids = scoped(leads, sorted(lead_ids), "pk")
    _contacts_pending(contact_ids)


def _scoring_live() -> bool:
    return ScoringModel.objects.filter(status=ScoringModelStatus.LIVE).exists()


def _contacts_pending(contact_ids: Iterable[int]) -> None:
    """Once the current transaction commits, put these contacts into the pending set and schedule its
    drain (one task at a time). Nothing when no model is live: there is nothing to score, and a model
    that goes live is recomputed in full."""
    ids = sorted({int(pk) for pk in contact_ids})
    if not ids or not _scoring_live():
        return

    def enqueue() -> None:
        if not settings.REDIS_URL:
            tasking.enqueue("leadscoring.rescore_contacts", contact_ids=ids)
            return
        pipe = redis_client().pipeline(transaction=False)  # one round trip for both
        pipe.sadd(pending_contacts_key(), *ids)
        pipe.set(drain_scheduled_key(), 1, nx=True, ex=max(60, COALESCE_SECONDS * 10))
        _, scheduled = pipe.execute()
        if scheduled:
            tasking.enqueue_with("leadscoring.rescore_pending", countdown=COALESCE_SECONDS)

    transaction.on_commit(enqueue)


def contacts_rescore(*, contact_ids: Iterable[int], now: datetime | None = None) -> int:
    """Recompute, under every live model, the leads of these contacts; returns the leads rescored."""
    lead_ids = list(Lead.objects.filter(parent_contact_id__in=list(contact_ids)).values_list("pk", flat=True))
    if not lead_ids:
        return 0
    for model in ScoringModel.objects.filter(status=ScoringModelStatus.LIVE).order_by("pk"):
        scoring_model_recompute(model=model, lead_ids=lead_ids, now=now)
    return len(lead_ids)


def pending_contacts_drain(*, batch_size: int = DRAIN_BATCH_SIZE, now: datetime | None = None) -> int:
    """Rescore the leads of every contact in the pending set, a batch at a time; returns contacts done.

    A batch that fails goes back into the set before the error propagates (the task retries).
    """
    client = redis_client()
    client.delete(drain_scheduled_key())  # ids arriving from now on schedule another drain
    done = 0
    while True:
        popped = client.spop(pending_contacts_key(), batch_size)
        if not popped:
            return done
        ids = sorted(int(pk) for pk in popped)
        try:
            contacts_rescore(contact_ids=ids, now=now)
        except Exception:
            client.sadd(pending_contacts_key(), *ids)
            raise
        done += len(ids)
