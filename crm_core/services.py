"""Writes to CRM records. Every write that matters goes through a function here."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from .emails import normalize_email
from .models import (
    Account,
    Contact,
    ContactOrigin,
    Lead,
    LeadSource,
    LeadStatus,
    LeadStatusChange,
    Opportunity,
    OpportunityStage,
    OpportunityStatus,
)
from .selectors import orphan_workflow_enabled
from .signals import records_changed


def contact_get_or_create_by_email(*, email: str, defaults: dict | None = None) -> tuple[Contact, bool]:
    """The contact with this (normalised) email, created from `defaults` if there is none.

    Safe under concurrency: the database's unique index on lower(email) lets one
    of two racing creators win; the other reads the winner's row.
    """
    email = normalize_email(email)
    if email is None:
        raise ValueError("an email is required to match a contact")
    try:
        return Contact.objects.get_or_create(email=email, defaults=defaults or {})
    except IntegrityError:  # lost a race that get_or_create could not absorb
        return Contact.objects.get(email=email), False


@transaction.atomic
def lead_create(*, data: dict, created_by=None) -> Lead:
    """Create a lead from validated field values; an orphan lead gets its contact after commit."""
    lead = Lead.objects.create(**data)
    lead_schedule_orphan_link(lead=lead)
    return lead


@transaction.atomic
def lead_update(*, lead: Lead, data: dict, updated_by=None) -> Lead:
    """Change a lead's fields from validated values; if it is (still) an orphan, link it after commit."""
    for name, value in data.items():
        setattr(lead, name, value)
    lead.save()
    lead_schedule_orphan_link(lead=lead)
    return lead


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
    if lead.parent_contact_id is not None or not orphan_workflow_enabled():
        return False
    from .tasks import link_orphan_leads_task

    lead_id = lead.pk
    transaction.on_commit(lambda: link_orphan_leads_task.delay(lead_ids=[lead_id]))
    return True


def lead_link_orphans(**kwargs) -> OrphanLinkResult:
    """Give each orphan lead (all of them, or those among `lead_ids`) a parent contact.

    See `_lead_link_orphans`; afterwards, subscribers hear which kinds of records changed.
    """
    result = _lead_link_orphans(**kwargs)
    if result.leads_linked:
        records_changed.send(sender=Lead, entities={"lead", "contact"})
    return result


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
                .filter(parent_contact__isnull=True, pk__gt=last_id)
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
            .filter(pk__in=ids, parent_contact__isnull=True)
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
    """Link a batch of orphan leads this transaction has locked, in three statements.

    Returns the leads linked, the contacts created and the ids of contacts that existed before
    the run (`run_started`) and got leads.
    """
    if connection.vendor != "postgresql":
        return _link_locked_batch_portable(ids, run_started=run_started)
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
            SELECT count(*), array_agg(DISTINCT contact_id) FILTER (WHERE existed) FROM linked
            """,
            [now, ids, run_started],
        )
        leads_linked, matched_ids = cursor.fetchone()
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
            """,
            [_CONTACT, ids, *params, now],
        )
        leads_linked += cursor.rowcount
        contacts_created += cursor.rowcount
    return leads_linked, contacts_created, matched_ids or []


def _link_locked_batch_portable(ids: list[int], *, run_started) -> tuple[int, int, list[int]]:
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
    return len(leads), contacts_created + len(own), matched


# --- Lead lifecycle ------------------------------------------------------------------------
# new -> marketing_qualified -> sales_accepted -> qualified (an opportunity) | disqualified;
# sales may return a lead to marketing (nurture). Each transition is checked against the lead's
# current status under a row lock and recorded in LeadStatusChange with who and when.


class LeadTransitionError(Exception):
    """A lifecycle transition the lead's current status does not allow."""


@dataclass(frozen=True)
class _Transition:
    verb: str
    to_status: str
    allowed_from: tuple[str, ...]


S = LeadStatus
MARK_MARKETING_QUALIFIED = _Transition("mark marketing qualified", S.MARKETING_QUALIFIED, (S.NEW, S.NURTURE))
ACCEPT = _Transition("accept", S.SALES_ACCEPTED, (S.NEW, S.MARKETING_QUALIFIED))
QUALIFY = _Transition("qualify", S.QUALIFIED, (S.NEW, S.MARKETING_QUALIFIED, S.SALES_ACCEPTED))
DISQUALIFY = _Transition(
    "disqualify", S.DISQUALIFIED, (S.NEW, S.MARKETING_QUALIFIED, S.SALES_ACCEPTED, S.NURTURE)
)
RETURN_TO_MARKETING = _Transition(
    "return to marketing", S.NURTURE, (S.NEW, S.MARKETING_QUALIFIED, S.SALES_ACCEPTED)
)
LEAD_TRANSITIONS = (MARK_MARKETING_QUALIFIED, ACCEPT, QUALIFY, DISQUALIFY, RETURN_TO_MARKETING)


def _status_label(status: str) -> str:
    return LeadStatus(status).label.lower()


def _lead_transition(*, lead: Lead, transition: _Transition) -> tuple[Lead, str]:
    """Lock the lead, check the transition and set the new status (unsaved); return it and the old one.

    Call inside a transaction.
    """
    locked = Lead.objects.select_for_update().get(pk=lead.pk)
    if locked.status not in transition.allowed_from:
        allowed = ", ".join(_status_label(s) for s in transition.allowed_from)
        raise LeadTransitionError(
            f"Cannot {transition.verb} a lead that is {_status_label(locked.status)}; "
            f"only a lead that is {allowed} can be moved to {_status_label(transition.to_status)}."
        )
    from_status = locked.status
    locked.status = transition.to_status
    return locked, from_status


def _record_transition(
    *, lead: Lead, from_status: str, actor, reason: str = "", opportunity=None
) -> LeadStatusChange:
    return LeadStatusChange.objects.create(
        lead=lead,
        from_status=from_status,
        to_status=lead.status,
        actor=actor if actor is not None and actor.is_authenticated else None,
        reason=reason,
        opportunity=opportunity,
        changed_at=timezone.now(),
    )


@transaction.atomic
def lead_mark_marketing_qualified(*, lead: Lead, actor=None, reason: str = "") -> Lead:
    """Hand a lead to sales by hand (scoring does the same when a lead becomes sales-ready)."""
    lead, from_status = _lead_transition(lead=lead, transition=MARK_MARKETING_QUALIFIED)
    lead.save(update_fields=["status", "updated_at"])
    _record_transition(lead=lead, from_status=from_status, actor=actor, reason=reason)
    return lead


@transaction.atomic
def lead_accept(*, lead: Lead, actor=None, reason: str = "") -> Lead:
    """Sales accepts the lead; an unowned lead becomes the accepting user's."""
    lead, from_status = _lead_transition(lead=lead, transition=ACCEPT)
    fields = ["status", "updated_at"]
    if lead.owner_id is None and actor is not None and actor.is_authenticated:
        lead.owner = actor
        fields.append("owner")
    lead.save(update_fields=fields)
    _record_transition(lead=lead, from_status=from_status, actor=actor, reason=reason)
    return lead


@transaction.atomic
def lead_qualify(
    *,
    lead: Lead,
    actor=None,
    reason: str = "",
    opportunity_name: str = "",
    amount: Decimal | None = None,
    close_date: date | None = None,
) -> tuple[Lead, Opportunity]:
    """Qualify the lead into an opportunity for its contact and account.

    An orphan lead gets its contact first (the orphan-lead workflow, run now for this lead).
    The contact stops being marketing-only: it is a sales contact from now on.
    """
    lead, from_status = _lead_transition(lead=lead, transition=QUALIFY)
    if lead.parent_contact_id is None:
        _link_orphan_batch(ids=[lead.pk], run_started=timezone.now())
        lead.parent_contact_id = Lead.objects.values_list("parent_contact_id", flat=True).get(pk=lead.pk)
    contact = Contact.objects.select_for_update().get(pk=lead.parent_contact_id)
    if contact.marketing_only:
        contact.marketing_only = False
        contact.save(update_fields=["marketing_only", "updated_at"])
    account_id = lead.parent_account_id or contact.parent_account_id
    person = f"{lead.first_name} {lead.last_name}".strip() or str(contact)
    opportunity = Opportunity.objects.create(
        name=(opportunity_name or f"{lead.topic} - {lead.company_name or person}")[:200],
        account_id=account_id,
        contact=contact,
        originating_lead=lead,
        owner_id=lead.owner_id or (actor.pk if actor is not None and actor.is_authenticated else None),
        stage=OpportunityStage.QUALIFICATION,
        status=OpportunityStatus.OPEN,
        amount=amount if amount is not None else lead.estimated_value,
        close_date=close_date,
    )
    lead.save(update_fields=["status", "parent_contact", "updated_at"])
    _record_transition(
        lead=lead, from_status=from_status, actor=actor, reason=reason, opportunity=opportunity
    )
    return lead, opportunity


@transaction.atomic
def lead_disqualify(*, lead: Lead, actor=None, reason: str = "") -> Lead:
    lead, from_status = _lead_transition(lead=lead, transition=DISQUALIFY)
    lead.save(update_fields=["status", "updated_at"])
    _record_transition(lead=lead, from_status=from_status, actor=actor, reason=reason)
    return lead


@transaction.atomic
def lead_return_to_marketing(*, lead: Lead, actor=None, reason: str = "") -> Lead:
    """Sales sends the lead back to marketing for more nurture."""
    lead, from_status = _lead_transition(lead=lead, transition=RETURN_TO_MARKETING)
    lead.save(update_fields=["status", "updated_at"])
    _record_transition(lead=lead, from_status=from_status, actor=actor, reason=reason)
    return lead


# --- Bulk lead import ------------------------------------------------------------------------

LEAD_IMPORT_MAX_ROWS = 10_000  # per API request; the CSV command has no limit
LEAD_IMPORT_FIELDS = (
    "topic",
    "first_name",
    "last_name",
    "email",
    "company_name",
    "job_title",
    "job_role",
    "source",
    "parent_contact",
    "parent_account",
    "owner",
    "estimated_value",
)
LEAD_IMPORT_REQUIRED = ("topic",)
_IMPORT_FOREIGN_KEYS = {"parent_contact": Contact, "parent_account": Account}


class LeadImportInvalid(Exception):
    """Rows that failed validation: [(row index, {field: [messages]})]. Nothing was saved."""

    def __init__(self, errors: list[tuple[int, dict[str, list[str]]]], total_rows: int):
        self.errors = errors
        self.total_rows = total_rows
        super().__init__(f"{len(errors)} of {total_rows} rows are invalid; nothing was saved")


@dataclass
class LeadImportResult:
    leads_created: int = 0
    contacts_created: int = 0
    contacts_linked: int = 0  # existing contacts the new leads were linked to
    leads_linked: int = 0  # new leads that got a parent contact from the orphan-lead workflow
    lead_ids: list[int] = field(default_factory=list)


def lead_import_clean(*, rows: Sequence) -> list[dict]:
    """Validate every row (a dict of lead fields); return cleaned values or raise LeadImportInvalid.

    Field values are checked by the Lead model's own fields; referenced contacts, accounts and
    owners are checked set-based (one query per kind), never a query per row.
    """
    cleaned: list[dict] = []
    errors: dict[int, dict[str, list[str]]] = {}
    references: dict[str, dict[int, list[int]]] = {name: {} for name in ("parent_contact", "parent_account")}
    references["owner"] = {}
    for index, row in enumerate(rows):
        row_errors: dict[str, list[str]] = {}
        values: dict = {}
        if not isinstance(row, dict):
            errors[index] = {"non_field_errors": ["Expected an object of lead fields."]}
            cleaned.append(values)
            continue
        for name in sorted(set(row) - set(LEAD_IMPORT_FIELDS)):
            row_errors[str(name)] = ["Unknown field."]
        for name in LEAD_IMPORT_FIELDS:
            value = row.get(name)
            if value is None or value == "":
                if name in LEAD_IMPORT_REQUIRED:
                    row_errors[name] = ["This field is required."]
                continue
            if isinstance(value, dict | list | bool):
                row_errors[name] = ["Expected a single value."]
                continue
            if name in references:
                try:
                    pk = int(value)
                    if isinstance(value, float) and value != pk:
                        raise ValueError
                except (TypeError, ValueError):
                    row_errors[name] = [f"Expected an id, got {value!r}."]
                    continue
                values[f"{name}_id"] = pk
                references[name].setdefault(pk, []).append(index)
                continue
            try:
                values[name] = Lead._meta.get_field(name).clean(value, None)
            except ValidationError as error:
                row_errors[name] = list(error.messages)
        values.setdefault("source", LeadSource.IMPORT)
        if row_errors:
            errors[index] = row_errors
        cleaned.append(values)

    targets = {**_IMPORT_FOREIGN_KEYS, "owner": get_user_model()}
    for name, by_pk in references.items():
        if not by_pk:
            continue
        model = targets[name]
        found = set(model._default_manager.filter(pk__in=list(by_pk)).values_list("pk", flat=True))
        for pk in set(by_pk) - found:
            for index in by_pk[pk]:
                label = model._meta.verbose_name
                errors.setdefault(index, {})[name] = [f"There is no {label} with id {pk}."]
    if errors:
        raise LeadImportInvalid(sorted(errors.items()), total_rows=len(rows))
    return cleaned


@transaction.atomic
def lead_bulk_import(
    *,
    rows: Sequence,
    imported_by=None,
    batch_size: int = 2_000,
    progress: Callable[[int], None] | None = None,
) -> LeadImportResult:
    """Validate all rows, insert them set-based and run the orphan-lead workflow on the batch.

    All or nothing: one invalid row raises LeadImportInvalid and saves nothing. The workflow
    runs only when it is switched on; `progress(n)` hears of each batch of leads inserted.
    """
    cleaned = lead_import_clean(rows=rows)
    result = LeadImportResult()
    orphan_ids: list[int] = []
    for start in range(0, len(cleaned), batch_size):
        leads = Lead.objects.bulk_create([Lead(**values) for values in cleaned[start : start + batch_size]])
        result.lead_ids.extend(lead.pk for lead in leads)
        orphan_ids.extend(lead.pk for lead in leads if lead.parent_contact_id is None)
        if progress:
            progress(len(leads))
    result.leads_created = len(result.lead_ids)
    if orphan_ids and orphan_workflow_enabled():
        linked = lead_link_orphans(lead_ids=orphan_ids)
        result.contacts_created = linked.contacts_created
        result.contacts_linked = linked.contacts_matched
        result.leads_linked = linked.leads_linked
    if result.leads_created:
        records_changed.send(sender=Lead, entities={"lead"})
    return result
