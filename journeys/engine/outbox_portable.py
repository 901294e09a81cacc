"""The outbox through the ORM (the embedded SQLite default): no locks; SQLite lets one writer in at
a time, and a claim older than JOURNEYS_DISPATCH_LEASE_SECONDS is a dead sender's (a sender task is
killed at CELERY_TASK_TIME_LIMIT, well before)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from crm_core.models import InteractionKind
from crm_core.services import interactions_record

from ..models import OutboundEmail, OutboxStatus
from .conf import setting


@contextmanager
def holding_claim(claim: int) -> Iterator[None]:
    """No locks: the claim's age (`claimed_at`) tells a dead sender."""
    yield


def queue_emails(rows: list[tuple], now: datetime, claim: int | None) -> list[int]:
    status, attempts = ("sending", 1) if claim else ("pending", 0)
    names = ("execution_id", "enrollment_id", "journey_id", "step_id", "contact_id")
    created = OutboundEmail.objects.bulk_create(
        [
            OutboundEmail(
                **dict(zip(names, row, strict=True)),
                status=status,
                claim_id=claim,
                claimed_at=now if claim else None,
                attempts=attempts,
                created_at=now,
            )
            for row in rows
        ]
    )
    return sorted(x.pk for x in created)


def claim_pending(outbox_ids: list[int], claim: int, now: datetime) -> list[int]:
    with transaction.atomic():
        pending = OutboundEmail.objects.filter(id__in=outbox_ids, status=OutboxStatus.PENDING)
        claimed = sorted(pending.values_list("id", flat=True))
        OutboundEmail.objects.filter(id__in=claimed, status=OutboxStatus.PENDING).update(
            status=OutboxStatus.SENDING, claim_id=claim, claimed_at=now, attempts=F("attempts") + 1
        )
    return claimed


def finalize_claim(claim: int) -> int:
    with transaction.atomic():
        claimed = OutboundEmail.objects.filter(claim_id=claim, status=OutboxStatus.SENDING)
        sent = list(
            claimed.filter(sent_at__isnull=False).values_list(
                "id", "contact_id", "journey_id", "step_id", "step__key", "sent_at"
            )
        )
        interactions_record(
            rows=[
                {
                    "contact_id": contact_id,
                    "kind": InteractionKind.EMAIL_SENT,
                    "occurred_at": sent_at,
                    "properties": {"journey": journey_id, "step": step_id, "email": key, "outbox": pk},
                }
                for pk, contact_id, journey_id, step_id, key, sent_at in sent
            ]
        )
        OutboundEmail.objects.filter(id__in=[row[0] for row in sent]).update(
            status=OutboxStatus.SENT, claim_id=None
        )
        claimed.filter(sent_at__isnull=True).update(status=OutboxStatus.PENDING, claim_id=None)
    return len(sent)


def release_dead_claims() -> int:
    """A claim older than JOURNEYS_DISPATCH_LEASE_SECONDS (or without a time) is a dead sender's."""
    released = 0
    cutoff = timezone.now() - timedelta(seconds=setting("JOURNEYS_DISPATCH_LEASE_SECONDS", 600))
    sending = OutboundEmail.objects.filter(status=OutboxStatus.SENDING)
    sending = sending.filter(Q(claimed_at__lt=cutoff) | Q(claimed_at__isnull=True))
    for claim in list(sending.order_by().values_list("claim_id", flat=True).distinct()):
        finalize_claim(claim)
        released += 1
    return released
