"""Likely duplicate contacts, as pairs with the reasons they look like one person.

The rules (each pair is (a, b) with a < b):

- `lead_email`: a lead of one contact carries the other contact's email (the same person reached
  us under two records, e.g. a form post under a new address whose lead was linked to the old one);
- `same_name_account`: the same first and last name (case-insensitive, not both blank) at the same
  account;
- `email_other_domain`: the same local part (before the @, at least 3 characters) at another domain;
- `email_similar`: the emails are equal once dots, hyphens and underscores are removed
  (`john.smith@acme.com` / `johnsmith@acme.com` / `john_smith@acme.com`): the same rule on both
  paths. (A trigram similarity probe per contact, on the email's trigram index, took 60 ms a contact
  at 200,000 contacts: the domains' trigrams are in every row. The one-contact query still probes
  the trigram index, since one probe is cheap, and rechecks this rule.)

Pages are bounded twice: each request looks at the pairs whose smaller id lies in the next
`SCAN_CONTACTS` contacts (by id) and returns at most `limit` of them in (a, b) order. A page may hold
fewer pairs than asked (even none) and still have a next one: the scan continues from where it
stopped. `crm_core/sqlpath.py` picks `duplicates_sql` (one statement: index probes per scanned
contact for names and leads, one hash join with the contact table per email rule) or
`duplicates_portable` (the ORM; for the email rules each contact is paired with the next contact
sharing its key).
"""

from __future__ import annotations

from dataclasses import dataclass

from . import sqlpath
from .duplicates_rules import REASONS, DuplicatePair
from .models import Contact

__all__ = ["REASONS", "DuplicatePage", "DuplicatePair", "duplicate_pairs"]

SCAN_CONTACTS = 10_000
END = 2**63 - 1  # "after every pair of this contact"


@dataclass(frozen=True)
class DuplicatePage:
    pairs: list[DuplicatePair]
    # Where the next page starts: after this (a, b); None: the scan reached the last contact.
    next_after: tuple[int, int] | None


def _scan_end(start: int, scan: int) -> int | None:
    """The id of the last contact this request scans (None: fewer than `scan` remain)."""
    ids = Contact.objects.filter(pk__gte=start).order_by("pk").values_list("pk", flat=True)
    return ids[scan - 1 : scan].first() if scan > 0 else None


def duplicate_pairs(
    *,
    after: tuple[int, int] | None = None,
    limit: int = 50,
    scan: int = SCAN_CONTACTS,
    contact_id: int | None = None,
) -> DuplicatePage:
    """The next page of likely duplicate pairs after `after` (a, b); `contact_id`: only that contact's."""
    if contact_id is not None:
        return DuplicatePage(pairs=_path().pairs_of_contact(contact_id, limit), next_after=None)
    after = after or (0, 0)
    last = _scan_end(after[0], scan)
    hi = last if last is not None else END
    rows = _path().pairs_between(after, hi, limit + 1)
    if len(rows) > limit:
        rows = rows[:limit]
        return DuplicatePage(pairs=rows, next_after=(rows[-1].a_id, rows[-1].b_id))
    return DuplicatePage(pairs=rows, next_after=None if last is None else (last, END))


def _path():
    from . import duplicates_portable, duplicates_sql

    return duplicates_sql if sqlpath.postgres_sql() else duplicates_portable
