"""Create, change and delete CRM records (contacts, accounts, leads, opportunities, interactions).

Every writer of these tables (API, admin, web UI, landing pages, journeys, imports) comes here.
Each function takes keyword arguments only, the acting user (`actor`, None for the system), and
field values by name; names outside the entity's editable fields are refused, so a caller cannot
set what another service owns (a lead's status, score, grade, sales_ready and owner belong to the
lifecycle, scoring and assignment services). Consent preferences of a contact are written through
`crm_core.consent`, which records each change. Every write announces itself with
`crm_core.events.records_changed_on_commit`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction

from .. import custom_fields, events
from ..addresses import normalize_email
from ..consent import PREFERENCE_FIELDS, contact_preferences_update
from ..models import (
    Account,
    ConsentSource,
    Contact,
    EventRegistration,
    IdentityStatus,
    Interaction,
    Lead,
    MergedContact,
    Opportunity,
)
from ..text import names_clean
from .orphans import lead_schedule_orphan_link
from .sql import SqlRows

# The lead fields a caller may give when creating a lead, in import-file column order (an import, a
# rep creating their own lead). Status, score, grade and sales_ready belong to the lifecycle and
# scoring services; after creation the owner changes only through `lifecycle.lead_assign`.
LEAD_CREATE_FIELD_ORDER = (
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
    "custom",
)
LEAD_CREATE_FIELDS = frozenset(LEAD_CREATE_FIELD_ORDER)
LEAD_EDITABLE_FIELDS = LEAD_CREATE_FIELDS - {"owner"}
CONTACT_PROFILE_FIELDS = frozenset(
    {
        "first_name",
        "last_name",
        "email",
        "phone",
        "job_title",
        "job_role",
        "country",
        "city",
        "parent_account",
        "owner",
        "origin",
        "is_minor",
        "guardian",
        "custom",
    }
)
ACCOUNT_FIELDS = frozenset(
    {
        "name",
        "industry",
        "country",
        "website",
        "employees",
        "annual_revenue",
        "owner",
        "parent_account",
        "custom",
    }
)
OPPORTUNITY_FIELDS = frozenset(
    {"name", "account", "contact", "originating_lead", "owner", "stage", "status", "amount", "close_date"}
)


@dataclass(frozen=True)
class _Kind:
    """How one kind of record is written: its model, its notice's entity, the fields a caller may set
    and the field naming the contact whose data it is (None: not a contact's)."""

    model: type
    entity: str
    allowed: frozenset[str]
    contact_field: str | None


INTERACTION_FIELDS = frozenset({"contact", "kind", "occurred_at", "properties"})
_CONTACT = _Kind(Contact, events.CONTACT, CONTACT_PROFILE_FIELDS, "pk")
_ACCOUNT = _Kind(Account, events.ACCOUNT, ACCOUNT_FIELDS, None)
_OPPORTUNITY = _Kind(Opportunity, events.OPPORTUNITY, OPPORTUNITY_FIELDS, "contact_id")
_INTERACTION = _Kind(Interaction, events.INTERACTION, INTERACTION_FIELDS, "contact_id")
_LEAD = _Kind(Lead, events.LEAD, LEAD_EDITABLE_FIELDS, "parent_contact_id")
_LEAD_NEW = _Kind(Lead, events.LEAD, LEAD_CREATE_FIELDS, "parent_contact_id")

# Services join the caller's transaction without a savepoint of their own (a savepoint costs two
# round trips per call; a failure inside still rolls the caller's whole transaction back).
_atomic = transaction.atomic(savepoint=False)


def _actor_id(actor) -> int | None:
    return actor.pk if actor is not None and getattr(actor, "is_authenticated", False) else None


def _checked(values: Mapping[str, Any], allowed: frozenset[str], entity: str) -> dict:
    """`values` if every name is settable (a foreign key by name or as `<name>_id`), else TypeError."""
    unknown = sorted(n for n in values if n not in allowed and not (n.endswith("_id") and n[:-3] in allowed))
    if unknown:
        raise TypeError(f"{entity} fields not settable here: {', '.join(unknown)}")
    return names_clean(values)


def _with_custom(entity: str, values: Mapping[str, Any], instance=None) -> Mapping[str, Any]:
    """`values` with `custom` validated and merged into the record's current values (required
    custom fields are checked when a creator gives `custom`); ValidationError naming the key."""
    if "custom" not in values:
        return values
    current = None if instance is None else instance.custom
    merged = custom_fields.values_clean(entity, values["custom"], current=current, creating=instance is None)
    return {**values, "custom": merged}


def _changed_fields(instance, values: Mapping[str, Any]) -> list[str]:
    changed = []
    for name, value in values.items():
        field = instance._meta.get_field(name[:-3] if name.endswith("_id") else name)
        current = getattr(instance, field.attname)
        new = value.pk if field.is_relation and hasattr(value, "pk") else value
        if current != new:
            changed.append(name)
    return changed


def _apply(instance, values: Mapping[str, Any], actor) -> None:
    for name, value in values.items():
        setattr(instance, name, value)
    if hasattr(instance, "updated_by_id"):
        instance.updated_by_id = _actor_id(actor)


def _contact_ids(instance, contact_field: str | None) -> list[int | None] | None:
    return [getattr(instance, contact_field)] if contact_field else None


def _create(kind: _Kind, *, actor, values):
    entity, contact_field = kind.entity, kind.contact_field
    instance = kind.model(**_with_custom(entity, _checked(values, kind.allowed, entity)))
    instance.created_by_id = instance.updated_by_id = _actor_id(actor)
    instance.save()
    events.records_changed_on_commit(
        entity=entity,
        action=events.CREATED,
        ids=[instance.pk],
        contact_ids=_contact_ids(instance, contact_field),
    )
    return instance


def _update(kind: _Kind, instance, *, actor, values):
    """Set the given fields, save, and announce the fields that really changed (old and new contact)."""
    entity, contact_field = kind.entity, kind.contact_field
    values = _with_custom(entity, _checked(values, kind.allowed, entity), instance)
    before = _contact_ids(instance, contact_field)
    changed = _changed_fields(instance, values)
    _apply(instance, values, actor)
    instance.save()
    if changed:
        after = _contact_ids(instance, contact_field)
        events.records_changed_on_commit(
            entity=entity,
            action=events.UPDATED,
            ids=[instance.pk],
            contact_ids=None if after is None else [*before, *after],
            fields=changed,
        )
    return instance


def _delete(kind: _Kind, instance) -> None:
    pk, contact_ids = instance.pk, _contact_ids(instance, kind.contact_field)
    instance.delete()
    events.records_changed_on_commit(
        entity=kind.entity, action=events.DELETED, ids=[pk], contact_ids=contact_ids
    )


# --- Contacts ----------------------------------------------------------------------------------


def _consent_split(values: Mapping[str, Any]) -> tuple[dict, dict]:
    profile = {k: v for k, v in values.items() if k not in PREFERENCE_FIELDS}
    preferences = {k: v for k, v in values.items() if k in PREFERENCE_FIELDS}
    return profile, preferences


@_atomic
def contact_create(*, actor=None, consent_source: str = ConsentSource.API, **values) -> Contact:
    """Create a contact. Consent preferences given are recorded as changes from their defaults."""
    profile, preferences = _consent_split(values)
    profile = _with_custom(
        "contact", _checked(profile, CONTACT_PROFILE_FIELDS | {"marketing_only"}, "contact")
    )
    _checked(preferences, frozenset(PREFERENCE_FIELDS), "contact")
    contact = Contact(**profile)
    contact.created_by_id = contact.updated_by_id = _actor_id(actor)
    contact.save()
    if preferences:
        contact_preferences_update(
            contact=contact, changes=preferences, source=consent_source, actor=_actor_or_none(actor)
        )
    events.records_changed_on_commit(
        entity=events.CONTACT, action=events.CREATED, ids=[contact.pk], contact_ids=[contact.pk]
    )
    return contact


def _actor_or_none(actor):
    return actor if _actor_id(actor) is not None else None


@_atomic
def contact_update(
    *,
    contact: Contact,
    actor=None,
    consent_source: str = ConsentSource.API,
    ip_address: str | None = None,
    **values,
) -> Contact:
    """Change a contact's fields; consent preferences that change leave a `ConsentChange` each."""
    profile, preferences = _consent_split(values)
    profile = _checked(profile, CONTACT_PROFILE_FIELDS | {"marketing_only"}, "contact")
    _checked(preferences, frozenset(PREFERENCE_FIELDS), "contact")
    locked = Contact.objects.select_for_update().get(pk=contact.pk)
    profile = _with_custom("contact", profile, locked)
    changed = _changed_fields(locked, profile)
    if changed:
        _apply(locked, {k: profile[k] for k in changed}, actor)
        locked.save(update_fields=[*changed, "updated_at", "updated_by"])
    if preferences:
        records = contact_preferences_update(
            contact=locked,
            changes=preferences,
            source=consent_source,
            actor=_actor_or_none(actor),
            ip_address=ip_address,
        )
        changed += [r.field for r in records]
    for name in changed:
        setattr(contact, name, getattr(locked, name))
    if changed:
        events.records_changed_on_commit(
            entity=events.CONTACT,
            action=events.UPDATED,
            ids=[contact.pk],
            contact_ids=[contact.pk],
            fields=changed,
        )
    return contact


def contact_get_or_create_by_email(
    *, email: str, defaults: dict | None = None, actor=None
) -> tuple[Contact, bool]:
    """The contact with this (normalised) email (or the one a contact with it was merged into),
    created from `defaults` if there is none.

    Safe under concurrency: the database's unique index on lower(email) lets one of two racing
    creators win; the other reads the winner's row.
    """
    email = normalize_email(email)
    if email is None:
        raise ValueError("an email is required to match a contact")
    found = Contact.objects.filter(email=email).first()
    if found is None:  # an address of a contact merged into another: that one
        merged = MergedContact.objects.filter(email=email).values_list("survivor_id", flat=True)
        found = Contact.objects.filter(pk__in=merged[:1]).first()
    if found is not None:
        return found, False
    try:
        with transaction.atomic():
            return contact_create(actor=actor, email=email, **(defaults or {})), True
    except IntegrityError:  # lost a race to another creator
        return Contact.objects.get(email=email), False


@_atomic
def contact_delete(*, contact: Contact, actor=None) -> None:
    _delete(_CONTACT, contact)


# --- Accounts and opportunities ---------------------------------------------------------------------


@_atomic
def account_create(*, actor=None, **values) -> Account:
    return _create(_ACCOUNT, actor=actor, values=values)


@_atomic
def account_update(*, account: Account, actor=None, **values) -> Account:
    return _update(_ACCOUNT, account, actor=actor, values=values)


@_atomic
def account_delete(*, account: Account, actor=None) -> None:
    _delete(_ACCOUNT, account)


@_atomic
def opportunity_create(*, actor=None, **values) -> Opportunity:
    return _create(_OPPORTUNITY, actor=actor, values=values)


@_atomic
def opportunity_update(*, opportunity: Opportunity, actor=None, **values) -> Opportunity:
    return _update(_OPPORTUNITY, opportunity, actor=actor, values=values)


@_atomic
def opportunity_delete(*, opportunity: Opportunity, actor=None) -> None:
    _delete(_OPPORTUNITY, opportunity)


# --- Interactions ------------------------------------------------------------------------------------


@_atomic
def interaction_record(
    *, contact_id: int, kind: str, occurred_at: datetime, properties: dict | None = None, actor=None
) -> Interaction:
    """Record one thing a contact did (opened, clicked, submitted, visited, ...)."""
    return interactions_record(
        rows=[
            {
                "contact_id": contact_id,
                "kind": kind,
                "occurred_at": occurred_at,
                "properties": properties or {},
            }
        ],
        actor=actor,
    )[0]


@_atomic
def interactions_record(*, rows: Iterable[Mapping[str, Any]], actor=None) -> list[Interaction]:
    """Record many interactions in one statement (`contact_id`, `kind`, `occurred_at`, `properties`)."""
    made = Interaction.objects.bulk_create(
        [
            Interaction(
                contact_id=row["contact_id"],
                kind=row["kind"],
                occurred_at=row["occurred_at"],
                properties=row.get("properties") or {},
            )
            for row in rows
        ]
    )
    events.records_changed_on_commit(
        entity=events.INTERACTION,
        action=events.CREATED,
        ids=[i.pk for i in made],
        contact_ids=[i.contact_id for i in made],
    )
    return made


def interactions_insert_from(*, source: SqlRows) -> int:
    """PostgreSQL: record one interaction per row of `source` (columns contact_id, kind, occurred_at,
    properties as jsonb) in one statement, and announce them; returns how many were recorded."""
    table = Interaction._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""{source.with_clause()}
            INSERT INTO {table} (contact_id, kind, occurred_at, properties, created_at)
            SELECT s.contact_id, s.kind, s.occurred_at, s.properties, now() FROM {source.relation()} s
            RETURNING id, contact_id""",
            [*source.cte_params, *source.params],
        )
        created = cursor.fetchall()
    events.records_changed_on_commit(
        entity=events.INTERACTION,
        action=events.CREATED,
        ids=[pk for pk, _ in created],
        contact_ids=[contact_id for _, contact_id in created],
    )
    return len(created)


@_atomic
def interaction_update(*, interaction: Interaction, actor=None, **values) -> Interaction:
    """Correct a recorded interaction (an integrator fixing what it sent)."""
    return _update(_INTERACTION, interaction, actor=actor, values=values)


@_atomic
def interaction_delete(*, interaction: Interaction, actor=None) -> None:
    _delete(_INTERACTION, interaction)


# --- Leads -----------------------------------------------------------------------------------------


@_atomic
def lead_create(*, actor=None, **values) -> Lead:
    """Create a lead; an orphan lead gets its contact after commit (the orphan-lead workflow).

    Its status starts as new, its score, grade and sales_ready come from scoring.
    """
    lead = _create(_LEAD_NEW, actor=actor, values=values)
    lead_schedule_orphan_link(lead=lead)
    return lead


@_atomic
def lead_update(*, lead: Lead, actor=None, **values) -> Lead:
    """Change a lead's editable fields; if it is (still) an orphan, link it after commit.

    A lead held for identity review gets its contact only through the review (`services.identity`).
    """
    if lead.identity_status == IdentityStatus.CONFLICT and values.get("parent_contact") is not None:
        raise ValidationError(
            {"parent_contact": ["This lead is held for identity review: link or dismiss it there."]}
        )
    lead = _update(_LEAD, lead, actor=actor, values=values)
    lead_schedule_orphan_link(lead=lead)
    return lead


@_atomic
def lead_delete(*, lead: Lead, actor=None) -> None:
    _delete(_LEAD, lead)


# --- Deleting many records at once (admin bulk actions) --------------------------------------------

_ENTITY_MODELS = {
    events.CONTACT: (Contact, "pk"),
    events.ACCOUNT: (Account, None),
    events.LEAD: (Lead, "parent_contact_id"),
    events.OPPORTUNITY: (Opportunity, "contact_id"),
    events.INTERACTION: (Interaction, "contact_id"),
    events.REGISTRATION: (EventRegistration, "contact_id"),
}


@_atomic
def records_delete(*, entity: str, ids: Iterable[int], actor=None) -> int:
    """Delete these records of `entity` in one statement (with their cascades); returns rows deleted."""
    model, contact_field = _ENTITY_MODELS[entity]
    rows = model._default_manager.filter(pk__in=list(ids))
    contact_ids = list(rows.values_list(contact_field, flat=True)) if contact_field else None
    deleted_ids = list(rows.values_list("pk", flat=True))
    deleted = rows.delete()[0]
    events.records_changed_on_commit(
        entity=entity, action=events.DELETED, ids=deleted_ids, contact_ids=contact_ids
    )
    return deleted
