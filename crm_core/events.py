"""Change notices: how the rest of the product hears that CRM records changed.

The service that owns a table calls `records_changed_on_commit(...)` in the transaction of every
write it makes, set-based ones included (this replaces model signals, which bulk SQL bypasses).
After the transaction commits, `records_changed` is sent with one `RecordsChanged`; nothing is
sent for work that rolled back. Subscribers (live segments, lead scoring) connect in their
`AppConfig.ready()` and coalesce bursts themselves; a failing subscriber is logged and never
turns a committed write into an error.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass

from django.db import transaction
from django.dispatch import Signal

log = logging.getLogger(__name__)

# The record kinds a notice names (the segment registry's entity names).
CONTACT = "contact"
LEAD = "lead"
ACCOUNT = "account"
OPPORTUNITY = "opportunity"
INTERACTION = "interaction"
SUBSCRIPTION = "subscription"  # list memberships
REGISTRATION = "registration"  # event registrations
ENTITIES = (CONTACT, LEAD, ACCOUNT, OPPORTUNITY, INTERACTION, SUBSCRIPTION, REGISTRATION)

CREATED = "created"
UPDATED = "updated"
DELETED = "deleted"


@dataclass(frozen=True)
class RecordsChanged:
    """What one write changed.

    `ids`: primary keys of the changed rows of `entity` (None: not known, e.g. a whole-table job).
    `contact_ids`: the contacts whose data this touched (a lead's parent, an interaction's contact),
    when known. `fields`: the fields written (None: any, e.g. rows created or deleted).
    """

    entity: str
    action: str
    ids: frozenset[int] | None
    contact_ids: frozenset[int] | None = None
    fields: frozenset[str] | None = None


# Sent after commit with `change=RecordsChanged(...)`.
records_changed = Signal()


def _ids(values: Iterable[int] | None) -> frozenset[int] | None:
    return None if values is None else frozenset(int(v) for v in values if v is not None)


def records_changed_on_commit(
    *,
    entity: str,
    action: str,
    ids: Iterable[int] | None,
    contact_ids: Iterable[int] | None = None,
    fields: Iterable[str] | None = None,
) -> RecordsChanged | None:
    """Announce a change once the current transaction commits (at once in autocommit).

    Returns the notice, or None when `ids` is empty (nothing changed).
    """
    if entity not in ENTITIES:
        raise ValueError(f"unknown entity {entity!r}")
    if action not in (CREATED, UPDATED, DELETED):
        raise ValueError(f"unknown action {action!r}")
    change = RecordsChanged(
        entity=entity,
        action=action,
        ids=_ids(ids),
        contact_ids=_ids(contact_ids),
        fields=None if fields is None else frozenset(fields),
    )
    if change.ids is not None and not change.ids:
        return None

    def send() -> None:
        for receiver, result in records_changed.send_robust(sender=RecordsChanged, change=change):
            if isinstance(result, Exception):
                log.error(
                    "records_changed subscriber %r failed for %s %s",
                    receiver,
                    entity,
                    action,
                    exc_info=result,
                )

    transaction.on_commit(send)
    return change
