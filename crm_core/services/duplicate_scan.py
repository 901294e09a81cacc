"""The duplicate detection job: finds every likely duplicate pair over the whole contact table, set-based,
in one pass per rule, and keeps them in `DuplicateCandidate` (crm_core/duplicates.py reads them).

- `duplicates_scan_request(actor)`: "Scan now" (page and API): queues a run (`crm_core.duplicates_scan`)
  unless one is already queued or running; the beat runs one nightly (DUPLICATES_SCAN_HOUR).
- `duplicates_scan_run(scan_id)`: the run: marks it running (committed, so pages show "scanning"),
  replaces the table in one transaction (crm_core/sqlpath.py picks `duplicate_scan_sql`, one
  statement, or `duplicate_scan_portable`), records the counts. Running it twice leaves the same table.
- `duplicate_dismiss(a, b, actor)`: "Not a duplicate": the pair stays in the table, flagged, across runs.

The rules (crm_core/duplicates_rules.py names them; a pair is (a, b) with a < b): a lead of one contact
carries the other's email; the same first and last name (any case, not both blank) at the same
account; the same local part (at least `MIN_LOCAL` characters) at another domain; emails equal once
dots, hyphens and underscores are removed. A key (name at an account, local part, squeezed email)
shared by more than `MAX_GROUP` contacts is not one person (`info@` at hundreds of domains): it makes
no pairs.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from .. import sqlpath
from ..models import Contact, DuplicateCandidate, DuplicateScan, DuplicateScanState
from ..tasking import enqueue

MAX_GROUP = 20
MIN_LOCAL = 3
ACTIVE = (DuplicateScanState.QUEUED, DuplicateScanState.RUNNING)
SCANS_KEPT = 30


def _stale_before():
    """A queued or running scan older than this is taken as lost (a dead worker, a lost message)."""
    return timezone.now() - timedelta(seconds=2 * settings.CELERY_TASK_TIME_LIMIT + 60)


def active_scan() -> DuplicateScan | None:
    """The queued or running scan (None: none, or only a lost one)."""
    return DuplicateScan.objects.filter(state__in=ACTIVE, requested_at__gte=_stale_before()).first()


def duplicates_scan_request(*, actor=None) -> DuplicateScan:
    """Queue a run unless one is queued or running (then that one); the task is sent on commit."""
    with transaction.atomic():
        list(DuplicateScan.objects.select_for_update().filter(state__in=ACTIVE).values_list("pk"))
        current = active_scan()
        if current is not None:
            return current
        actor = actor if getattr(actor, "is_authenticated", False) else None
        scan = DuplicateScan.objects.create(requested_at=timezone.now(), requested_by=actor)
        transaction.on_commit(lambda: enqueue("crm_core.duplicates_scan", scan.pk))
    return scan


def _path():
    from .. import duplicate_scan_portable, duplicate_scan_sql

    return duplicate_scan_sql if sqlpath.postgres_sql() else duplicate_scan_portable


def duplicates_scan_run(*, scan_id: int | None = None) -> dict:
    """Run a queued scan (`scan_id`) or a new one (beat). A scan already finished is left alone."""
    now = timezone.now()
    if scan_id is None:
        scan = DuplicateScan.objects.create(
            requested_at=now, state=DuplicateScanState.RUNNING, started_at=now
        )
    else:
        started = DuplicateScan.objects.filter(pk=scan_id, state__in=ACTIVE).update(
            state=DuplicateScanState.RUNNING, started_at=now
        )
        if not started:
            return {"skipped": f"scan {scan_id} is not queued"}
        scan = DuplicateScan.objects.get(pk=scan_id)
    try:
        counts = _path().replace_candidates(now, max_group=MAX_GROUP, min_local=MIN_LOCAL)
    except Exception:
        DuplicateScan.objects.filter(pk=scan.pk).update(
            state=DuplicateScanState.FAILED, finished_at=timezone.now()
        )
        raise
    DuplicateScan.objects.filter(pk=scan.pk).update(
        state=DuplicateScanState.DONE, finished_at=timezone.now(), **counts
    )
    old = DuplicateScan.objects.filter(state=DuplicateScanState.DONE).values_list("pk", flat=True)[
        SCANS_KEPT:
    ]
    DuplicateScan.objects.filter(pk__in=list(old)).delete()
    return {"scan": scan.pk, **counts}


def _pair_ids(a, b) -> tuple[int, int]:
    try:
        a, b = int(a), int(b)
    except (TypeError, ValueError) as exc:
        raise ValidationError({"b": ["Two contact ids (whole numbers) are required."]}) from exc
    if a == b:
        raise ValidationError({"b": ["A contact is not a duplicate of itself; give two different contacts."]})
    found = set(Contact.objects.filter(pk__in=[a, b]).values_list("pk", flat=True))
    for name, pk in (("a", a), ("b", b)):
        if pk not in found:
            raise ValidationError({name: [f"There is no contact {pk}."]})
    return min(a, b), max(a, b)


@transaction.atomic
def duplicate_dismiss(*, a, b, actor=None) -> DuplicateCandidate:
    """Mark the pair "not a duplicate" (kept across runs). ValidationError for the same id or an unknown
    one (field `a` or `b`)."""
    a, b = _pair_ids(a, b)
    actor = actor if getattr(actor, "is_authenticated", False) else None
    now = timezone.now()
    candidate, _ = DuplicateCandidate.objects.select_for_update().get_or_create(
        contact_a_id=a, contact_b_id=b, defaults={"reasons": "", "found_at": now}
    )
    if not candidate.dismissed:
        candidate.dismissed, candidate.dismissed_at, candidate.dismissed_by = True, now, actor
        candidate.save(update_fields=["dismissed", "dismissed_at", "dismissed_by"])
    return candidate


def duplicates_forget_contact(contact_id: int) -> int:
    """Delete the pairs of a contact merged away or deleted (crm_core.services.merge)."""
    deleted, _ = DuplicateCandidate.objects.filter(
        Q(contact_a_id=contact_id) | Q(contact_b_id=contact_id)
    ).delete()
    return deleted
