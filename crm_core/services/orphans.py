"""The orphan-lead workflow: every lead without a parent contact gets one (set-based).

The batch is linked by `orphans_sql` on PostgreSQL and by `orphans_portable` elsewhere (the
embedded SQLite default); `crm_core.sqlpath` chooses. Automatic runs are queued by name
(`crm_core.link_orphan_leads`, crm_core/tasks.py) once the transaction that made the lead commits.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from .. import events, sqlpath, tasking
from ..models import IdentityStatus, Lead
from ..selectors import orphan_workflow_enabled
from . import orphans_portable, orphans_sql

LINK_ORPHAN_LEADS_TASK = "crm_core.link_orphan_leads"

# --- The orphan-lead workflow ---------------------------------------------------------------
# Every lead without a parent contact gets one: the contact with the same normalised email if
# there is one, else a new marketing-only contact made from the lead. Leads sharing an email get
# one contact; leads without an email get one each. The bulk path is four SQL statements per
# batch, whatever the batch size: lock the batch's leads, insert the missing contacts (one per
# email, conflicts on lower(email) absorbed), link the leads with email (UPDATE ... FROM), and
# create-and-link the contacts of leads without email (one statement).

ORPHAN_LINK_BATCH_SIZE = 20_000


@dataclass
class OrphanLinkResult:
    leads_linked: int = 0
    contacts_created: int = 0
    contacts_matched: int = 0  # contacts that existed before the run and got leads linked to them


class _RunTotals:
    """Adds up batches; a contact matched by several batches counts once."""

    def __init__(self):
        self.started = timezone.now()
        self.leads_linked = 0
        self.contacts_created = 0
        self.matched_ids: set[int] = set()

    def add(self, batch: tuple[int, int, list[int]]) -> None:
        leads_linked, contacts_created, matched_ids = batch
        self.leads_linked += leads_linked
        self.contacts_created += contacts_created
        self.matched_ids.update(matched_ids)

    def result(self) -> OrphanLinkResult:
        return OrphanLinkResult(self.leads_linked, self.contacts_created, len(self.matched_ids))


def lead_schedule_orphan_link(*, lead: Lead) -> bool:
    """After the current transaction commits, link `lead` to a contact if it is an orphan.

    Does nothing when the lead has a parent contact or the workflow is switched off.
    """
    if (
        lead.parent_contact_id is not None
        or lead.identity_status != IdentityStatus.NONE
        or not orphan_workflow_enabled()
    ):
        return False
    lead_id = lead.pk
    transaction.on_commit(lambda: tasking.enqueue(LINK_ORPHAN_LEADS_TASK, lead_ids=[lead_id]))
    return True


def lead_link_orphans(**kwargs) -> OrphanLinkResult:
    """Give each orphan lead (all of them, or those among `lead_ids`) a parent contact.

    See `_lead_link_orphans`; afterwards, subscribers hear which kinds of records changed.
    """
    return _lead_link_orphans(**kwargs)


def _lead_link_orphans(
    *,
    lead_ids: Iterable[int] | None = None,
    batch_size: int = ORPHAN_LINK_BATCH_SIZE,
    progress: Callable[[int], None] | None = None,
) -> OrphanLinkResult:
    """Give each orphan lead (all of them, or those among `lead_ids`) a parent contact.

    Each batch is its own transaction (a savepoint when called inside one). The batch's leads
    are locked in id order and re-checked, so running twice, or two workers at once, links
    each lead once and creates one contact per email. `progress(n)` hears of each batch.
    """
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    total = _RunTotals()
    if lead_ids is not None:
        ids = sorted(set(lead_ids))
        for start in range(0, len(ids), batch_size):
            chunk = ids[start : start + batch_size]
            total.add(_link_orphan_batch(ids=chunk, run_started=total.started))
            if progress:
                progress(len(chunk))
        return total.result()

    last_id = 0
    while True:
        with transaction.atomic():
            locked = list(
                Lead.objects.select_for_update()
                .filter(parent_contact__isnull=True, identity_status=IdentityStatus.NONE, pk__gt=last_id)
                .order_by("pk")
                .values_list("pk", flat=True)[:batch_size]
            )
            if not locked:
                return total.result()
            total.add(_link_locked_batch(locked, run_started=total.started))
        last_id = locked[-1]
        if progress:
            progress(len(locked))


def _link_orphan_batch(*, ids: Sequence[int], run_started) -> tuple[int, int, list[int]]:
    with transaction.atomic():
        locked = list(
            Lead.objects.select_for_update()
            .filter(pk__in=ids, parent_contact__isnull=True, identity_status=IdentityStatus.NONE)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        if not locked:
            return 0, 0, []
        return _link_locked_batch(locked, run_started=run_started)


def _link_locked_batch(ids: list[int], *, run_started) -> tuple[int, int, list[int]]:
    """Link a batch of orphan leads this transaction has locked and announce the change.

    Returns the leads linked, the contacts created and the ids of contacts that existed before
    the run (`run_started`) and got leads.
    """
    link = orphans_sql.link_locked_batch if sqlpath.postgres_sql() else orphans_portable.link_locked_batch
    # `linked`: the contacts the batch's leads now belong to (made or matched), named in the notices.
    leads_linked, contacts_created, matched, linked = link(ids, run_started=run_started)
    if leads_linked:
        events.records_changed_on_commit(
            entity=events.LEAD, action=events.UPDATED, ids=ids, contact_ids=linked, fields=["parent_contact"]
        )
    if contacts_created:
        events.records_changed_on_commit(
            entity=events.CONTACT, action=events.CREATED, ids=None, contact_ids=linked
        )
    return leads_linked, contacts_created, matched
