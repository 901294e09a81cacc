"""The orphan-lead workflow: every lead without a parent contact gets one (set-based)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from django.db import connection, transaction
from django.utils import timezone

from .. import events
from ..emails import normalize_email
from ..models import Contact, ContactOrigin, IdentityStatus, Lead
from ..selectors import orphan_workflow_enabled

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
    from ..tasks import link_orphan_leads_task

    lead_id = lead.pk
    transaction.on_commit(lambda: link_orphan_leads_task.delay(lead_ids=[lead_id]))
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


_LEAD = Lead._meta.db_table
_CONTACT = Contact._meta.db_table
_LEAD_EMAIL = "lower(btrim(l.email))"
# The lead columns a new contact is made from (selected narrowly: the batch is sorted by email).
_LEAD_SOURCE = (
    "l.id, l.email, l.first_name, l.last_name, l.job_title, l.job_role, l.parent_account_id, l.owner_id"
)


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


def _orphan_contact_values() -> tuple[list[str], list[str], list]:
    """Columns of a contact made from orphan lead `l`, their SQL expressions and parameters.

    Built from the Contact model, so a field added later gets its default without a change here.
    """
    now = timezone.now()
    from_lead = {
        "first_name": ("l.first_name", []),
        "last_name": ("l.last_name", []),
        "email": (f"NULLIF({_LEAD_EMAIL}, '')", []),
        "job_title": ("l.job_title", []),
        "job_role": ("l.job_role", []),
        "parent_account": ("l.parent_account_id", []),  # the company, only when the lead has one
        "owner": ("l.owner_id", []),
        "marketing_only": ("TRUE", []),
        "origin": ("%s", [ContactOrigin.ORPHAN_LEAD_WORKFLOW.value]),
        "created_at": ("%s", [now]),
        "updated_at": ("%s", [now]),
    }
    columns, expressions, params = [], [], []
    for model_field in Contact._meta.concrete_fields:
        if model_field.primary_key:
            continue
        columns.append(connection.ops.quote_name(model_field.column))
        if model_field.name in from_lead:
            expression, values = from_lead[model_field.name]
        else:
            expression = "%s"
            values = [model_field.get_db_prep_save(model_field.get_default(), connection)]
        expressions.append(expression)
        params.extend(values)
    return columns, expressions, params


def _link_locked_batch(ids: list[int], *, run_started) -> tuple[int, int, list[int]]:
    """Link a batch of orphan leads this transaction has locked and announce the change.

    Returns the leads linked, the contacts created and the ids of contacts that existed before
    the run (`run_started`) and got leads.
    """
    link = _link_locked_batch_sql if connection.vendor == "postgresql" else _link_locked_batch_portable
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


def _link_locked_batch_sql(ids: list[int], *, run_started) -> tuple[int, int, list[int], set[int]]:
    """PostgreSQL: the batch in three statements."""
    columns, expressions, params = _orphan_contact_values()
    column_sql, select_sql = ", ".join(columns), ", ".join(expressions)
    now = timezone.now()
    with connection.cursor() as cursor:
        # 1. One new contact per email no contact has yet, made from the email's first lead (one
        #    with an account preferred). The unique index on lower(email) skips emails that have
        #    a contact (one index probe each: cheaper than an anti-join against every contact) and
        #    decides races: a contact a concurrent transaction made wins quietly. Inserted in
        #    email order so concurrent batches cannot deadlock on the index. (Skipped rows leave
        #    gaps in the contact id sequence; ids are not meant to be dense.)
        cursor.execute(
            f"""
            INSERT INTO {_CONTACT} ({column_sql})
            SELECT {select_sql} FROM (
                SELECT DISTINCT ON ({_LEAD_EMAIL}) {_LEAD_SOURCE}
                FROM {_LEAD} l
                WHERE l.id = ANY(%s) AND NULLIF(btrim(l.email), '') IS NOT NULL
                ORDER BY {_LEAD_EMAIL}, (l.parent_account_id IS NULL), l.id
            ) l
            ORDER BY {_LEAD_EMAIL}
            ON CONFLICT ((lower(email))) DO NOTHING
            """,
            [*params, ids],
        )
        contacts_created = cursor.rowcount
        # 2. Every lead with an email: link it to the contact with that email.
        cursor.execute(
            f"""
            WITH linked AS (
                UPDATE {_LEAD} l SET parentcontactid = c.id, updated_at = %s
                FROM {_CONTACT} c
                WHERE l.id = ANY(%s) AND l.parentcontactid IS NULL AND lower(c.email) = {_LEAD_EMAIL}
                RETURNING c.id AS contact_id, c.created_at < %s AS existed
            )
            SELECT count(*), array_agg(DISTINCT contact_id) FILTER (WHERE existed),
                   array_agg(DISTINCT contact_id)
            FROM linked
            """,
            [now, ids, run_started],
        )
        leads_linked, matched_ids, linked = cursor.fetchone()
        # 3. Leads without an email: a contact each, created and linked in one statement.
        cursor.execute(
            f"""
            WITH src AS MATERIALIZED (
                SELECT {_LEAD_SOURCE}, nextval(pg_get_serial_sequence(%s, 'id')) AS new_contact_id
                FROM {_LEAD} l
                WHERE l.id = ANY(%s) AND l.parentcontactid IS NULL AND NULLIF(btrim(l.email), '') IS NULL
                ORDER BY l.id
            ), made AS (
                INSERT INTO {_CONTACT} (id, {column_sql})
                SELECT l.new_contact_id, {select_sql} FROM src l
            )
            UPDATE {_LEAD} l SET parentcontactid = src.new_contact_id, updated_at = %s
            FROM src WHERE l.id = src.id
            RETURNING src.new_contact_id
            """,
            [_CONTACT, ids, *params, now],
        )
        made = {row[0] for row in cursor.fetchall()}
        leads_linked += cursor.rowcount
        contacts_created += cursor.rowcount
    return leads_linked, contacts_created, matched_ids or [], set(linked or []) | made


def _link_locked_batch_portable(ids: list[int], *, run_started) -> tuple[int, int, list[int], set[int]]:
    """The same job through the ORM, for the embedded SQLite default (whose writers are serialised).

    A few statements per batch too (read, insert, read back, bulk update), but the rows pass
    through Python: fine for a development database, and PostgreSQL never takes this path.
    """
    now = timezone.now()
    leads = list(Lead.objects.filter(pk__in=ids, parent_contact__isnull=True).order_by("pk"))
    by_email: dict[str, list[Lead]] = {}
    without_email: list[Lead] = []
    for lead in leads:
        email = normalize_email(lead.email)
        if email:
            by_email.setdefault(email, []).append(lead)
        else:
            without_email.append(lead)

    def contacts_by_email(emails) -> dict[str, tuple[int, object]]:
        found: dict[str, tuple[int, object]] = {}
        emails = sorted(emails)
        for start in range(0, len(emails), 500):
            rows = Contact.objects.filter(email__in=emails[start : start + 500])
            found.update({email: (pk, at) for email, pk, at in rows.values_list("email", "pk", "created_at")})
        return found

    def contact_from(lead: Lead, email: str | None) -> Contact:
        return Contact(
            first_name=lead.first_name,
            last_name=lead.last_name,
            email=email,
            job_title=lead.job_title,
            job_role=lead.job_role,
            parent_account_id=lead.parent_account_id,
            owner_id=lead.owner_id,
            marketing_only=True,
            origin=ContactOrigin.ORPHAN_LEAD_WORKFLOW,
            created_at=now,
            updated_at=now,
        )

    existing = contacts_by_email(by_email)
    missing = sorted(set(by_email) - set(existing))
    Contact.objects.bulk_create(
        [
            contact_from(
                min(by_email[email], key=lambda lead: (lead.parent_account_id is None, lead.pk)), email
            )
            for email in missing
        ],
        ignore_conflicts=True,
        batch_size=500,
    )
    made = contacts_by_email(missing)
    for email, group in by_email.items():
        contact_id = existing.get(email, made.get(email))[0]
        for lead in group:
            lead.parent_contact_id = contact_id
    contacts_created = len(made)  # absent before this batch (SQLite has no concurrent writer)
    own = Contact.objects.bulk_create([contact_from(lead, None) for lead in without_email], batch_size=500)
    for lead, contact in zip(without_email, own, strict=True):
        lead.parent_contact_id = contact.pk
    for lead in leads:
        lead.updated_at = now
    Lead.objects.bulk_update(leads, ["parent_contact", "updated_at"], batch_size=500)
    matched = [pk for pk, at in existing.values() if at < run_started]
    return len(leads), contacts_created + len(own), matched, {lead.parent_contact_id for lead in leads}
