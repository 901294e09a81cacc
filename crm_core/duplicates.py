"""Likely duplicate contacts, as pairs with the reasons they look like one person: the read side.

The duplicate detection job (crm_core/services/duplicate_scan.py, its rules there) finds every pair
over the whole contact table and keeps them in `DuplicateCandidate`; this module pages them:

- `duplicate_pairs(after=, limit=)`: the pairs not dismissed ("not a duplicate") whose two contacts
  still exist, in (a, b) order, after the keyset cursor `after`: every page is full but the last;
- `duplicate_count()`: how many there are;
- `duplicate_pairs(contact_id=)`: one contact's pairs: the stored ones, plus a live probe of that one
  contact (`duplicates_sql` / `duplicates_portable`, switched by crm_core/sqlpath.py) so a contact
  created or changed since the last run shows its candidates at once; dismissed pairs never show;
- `scan_status()`: the queued or running scan and the last finished one (the page's "scanning…" and
  "last scanned").
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Exists, OuterRef, Q

from . import sqlpath
from .duplicates_rules import REASONS, DuplicatePair
from .models import Contact, DuplicateCandidate, DuplicateScan, DuplicateScanState
from .services.duplicate_scan import active_scan

__all__ = ["REASONS", "DuplicatePage", "DuplicatePair", "duplicate_count", "duplicate_pairs", "scan_status"]


@dataclass(frozen=True)
class DuplicatePage:
    pairs: list[DuplicatePair]
    # Where the next page starts: after this (a, b); None: this is the last page.
    next_after: tuple[int, int] | None


@dataclass(frozen=True)
class ScanStatus:
    active: DuplicateScan | None  # queued or running
    last: DuplicateScan | None  # the last finished


def _shown():
    """The pairs to show: not dismissed, both contacts still there (merged-away or deleted ones go)."""
    return DuplicateCandidate.objects.filter(
        Exists(Contact.objects.filter(pk=OuterRef("contact_a_id"))),
        Exists(Contact.objects.filter(pk=OuterRef("contact_b_id"))),
        dismissed=False,
    )


def _pair(a: int, b: int, reasons: str) -> DuplicatePair:
    return DuplicatePair(a, b, tuple(r for r in reasons.split(",") if r))


def duplicate_count() -> int:
    return _shown().count()


def duplicate_pairs(
    *, after: tuple[int, int] | None = None, limit: int = 50, contact_id: int | None = None
) -> DuplicatePage:
    """The next page of pairs after `after` (a, b); `contact_id`: only that contact's (one page)."""
    if contact_id is not None:
        return DuplicatePage(pairs=_contact_pairs(contact_id, limit), next_after=None)
    rows = _shown()
    if after is not None:
        rows = rows.filter(Q(contact_a_id__gt=after[0]) | Q(contact_a_id=after[0], contact_b_id__gt=after[1]))
    found = list(
        rows.order_by("contact_a_id", "contact_b_id").values_list("contact_a_id", "contact_b_id", "reasons")[
            : limit + 1
        ]
    )
    pairs = [_pair(*row) for row in found[:limit]]
    more = len(found) > limit
    return DuplicatePage(pairs=pairs, next_after=(pairs[-1].a_id, pairs[-1].b_id) if more else None)


def _contact_pairs(contact_id: int, limit: int) -> list[DuplicatePair]:
    """The stored pairs of one contact with the live probe's, less the dismissed ones."""
    mine = Q(contact_a_id=contact_id) | Q(contact_b_id=contact_id)
    stored = {
        (a, b): r for a, b, r in _shown().filter(mine).values_list("contact_a_id", "contact_b_id", "reasons")
    }
    dismissed = set(
        DuplicateCandidate.objects.filter(mine, dismissed=True).values_list("contact_a_id", "contact_b_id")
    )
    reasons = {pair: set(_pair(*pair, r).reasons) for pair, r in stored.items()}
    for pair in _probe().pairs_of_contact(contact_id, limit):
        if (pair.a_id, pair.b_id) not in dismissed:
            reasons.setdefault((pair.a_id, pair.b_id), set()).update(pair.reasons)
    return [DuplicatePair(a, b, tuple(sorted(reasons[(a, b)]))) for a, b in sorted(reasons)][:limit]


def scan_status() -> ScanStatus:
    last = DuplicateScan.objects.filter(state=DuplicateScanState.DONE).order_by("-finished_at").first()
    return ScanStatus(active=active_scan(), last=last)


def _probe():
    from . import duplicates_portable, duplicates_sql

    return duplicates_sql if sqlpath.postgres_sql() else duplicates_portable
