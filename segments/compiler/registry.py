"""What a segment definition may query: an explicit list of entities, fields and relationships.

Nothing outside this registry is reachable from a definition, so no path leads to
users, passwords, tokens or any table not listed here.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from django.db import models

from crm_core import custom_fields
from crm_core import models as crm

TEXT = "text"
CHOICE = "choice"
NUMBER = "number"
BOOLEAN = "boolean"
DATE = "date"
DATETIME = "datetime"
MULTI_CHOICE = "multi_choice"  # custom fields only: a list of choice values
FIELD_TYPES = (TEXT, CHOICE, NUMBER, BOOLEAN, DATE, DATETIME, MULTI_CHOICE)


@dataclass(frozen=True)
class Field:
    name: str
    type: str
    label: str
    path: str  # ORM lookup path from the entity's model
    choices: tuple[tuple[str | int, str], ...] = ()
    # Filled from the model (`_columns_resolved`): may the value be SQL NULL, and is it a JSON key?
    nullable: bool = False
    json_key: bool = False
    # A custom field (`custom.<key>`): its definition; the value is the key of the `custom` column.
    custom: crm.CustomField | None = None


@dataclass(frozen=True)
class Relationship:
    name: str
    target: str  # entity name
    label: str
    # The related rows of an outer row `o`: target.objects.filter(<inner> = OuterRef(<outer>)).
    inner: str
    outer: str
    to_one: bool = False


@dataclass(frozen=True)
class Entity:
    name: str
    label: str
    model: type[models.Model]
    fields: dict[str, Field] = field(default_factory=dict)
    relationships: dict[str, Relationship] = field(default_factory=dict)


def _choices(enum) -> tuple:
    return tuple((value, str(label)) for value, label in enum.choices)


def _fields(*specs: tuple) -> dict[str, Field]:
    out = {}
    for spec in specs:
        name, type_, label, *rest = spec
        path = rest[0] if rest and isinstance(rest[0], str) else name
        choices = next((r for r in rest if isinstance(r, tuple)), ())
        out[name] = Field(name=name, type=type_, label=label, path=path, choices=choices)
    return out


def _relationships(*rels: Relationship) -> dict[str, Relationship]:
    return {r.name: r for r in rels}


ENTITIES: dict[str, Entity] = {
    "contact": Entity(
        "contact",
        "Contact",
        crm.Contact,
        _fields(
            ("first_name", TEXT, "First name"),
            ("last_name", TEXT, "Last name"),
            ("email", TEXT, "Email"),
            ("phone", TEXT, "Phone"),
            ("job_title", TEXT, "Job title"),
            ("job_role", CHOICE, "Job role", _choices(crm.JobRole)),
            ("country", TEXT, "Country"),
            ("city", TEXT, "City"),
            ("marketing_only", BOOLEAN, "Marketing only"),
            ("origin", CHOICE, "Origin", _choices(crm.ContactOrigin)),
            ("do_not_bulk_email", BOOLEAN, "Do not allow bulk email"),
            ("do_not_email", BOOLEAN, "Do not allow email"),
            ("allow_prefill", BOOLEAN, "Allow prefill"),
            ("track_email", BOOLEAN, "Allow email tracking"),
            ("consent_level", NUMBER, "Consent level"),
            ("is_minor", BOOLEAN, "Is a minor"),
            ("guardian_consent", BOOLEAN, "Guardian consent"),
            ("created_at", DATETIME, "Created on"),
            ("updated_at", DATETIME, "Modified on"),
        ),
        _relationships(
            Relationship("leads", "lead", "Lead (parent contact)", "parent_contact", "pk"),
            Relationship("account", "account", "Account", "pk", "parent_account", to_one=True),
            Relationship("opportunities", "opportunity", "Opportunity", "contact", "pk"),
            Relationship("interactions", "interaction", "Interaction", "contact", "pk"),
            Relationship("subscriptions", "subscription", "Subscription list membership", "contact", "pk"),
            Relationship("registrations", "registration", "Event registration", "contact", "pk"),
        ),
    ),
    "lead": Entity(
        "lead",
        "Lead",
        crm.Lead,
        _fields(
            ("topic", TEXT, "Topic"),
            ("first_name", TEXT, "First name"),
            ("last_name", TEXT, "Last name"),
            ("email", TEXT, "Email"),
            ("company_name", TEXT, "Company name"),
            ("job_title", TEXT, "Job title"),
            ("job_role", CHOICE, "Job role", _choices(crm.JobRole)),
            ("status", CHOICE, "Status", _choices(crm.LeadStatus)),
            ("source", CHOICE, "Source", _choices(crm.LeadSource)),
            ("score", NUMBER, "Score"),
            ("grade", TEXT, "Grade"),
            ("sales_ready", BOOLEAN, "Sales ready"),
            ("estimated_value", NUMBER, "Estimated value"),
            ("created_at", DATETIME, "Created on"),
            ("updated_at", DATETIME, "Modified on"),
        ),
        _relationships(
            Relationship("parent_account", "account", "Parent account", "pk", "parent_account", to_one=True),
            Relationship("parent_contact", "contact", "Parent contact", "pk", "parent_contact", to_one=True),
        ),
    ),
    "account": Entity(
        "account",
        "Account",
        crm.Account,
        _fields(
            ("name", TEXT, "Name"),
            ("industry", CHOICE, "Industry", _choices(crm.Industry)),
            ("country", TEXT, "Country"),
            ("website", TEXT, "Website"),
            ("employees", NUMBER, "Employees"),
            ("annual_revenue", NUMBER, "Annual revenue"),
            ("created_at", DATETIME, "Created on"),
        ),
        _relationships(
            Relationship("contacts", "contact", "Contact", "parent_account", "pk"),
            Relationship("leads", "lead", "Lead", "parent_account", "pk"),
            Relationship("opportunities", "opportunity", "Opportunity", "account", "pk"),
        ),
    ),
    "opportunity": Entity(
        "opportunity",
        "Opportunity",
        crm.Opportunity,
        _fields(
            ("name", TEXT, "Name"),
            ("stage", CHOICE, "Stage", _choices(crm.OpportunityStage)),
            ("status", CHOICE, "Status", _choices(crm.OpportunityStatus)),
            ("amount", NUMBER, "Amount"),
            ("close_date", DATE, "Close date"),
            ("created_at", DATETIME, "Created on"),
        ),
    ),
    "interaction": Entity(
        "interaction",
        "Interaction",
        crm.Interaction,
        _fields(
            ("kind", CHOICE, "Kind", _choices(crm.InteractionKind)),
            ("occurred_at", DATETIME, "Occurred on"),
            ("email", TEXT, "Email name", "properties__email"),
            ("url", TEXT, "URL", "properties__url"),
            ("form", TEXT, "Form", "properties__form"),
            ("event", TEXT, "Event", "properties__event"),
        ),
    ),
    "subscription": Entity(
        "subscription",
        "Subscription list membership",
        crm.ListMembership,
        _fields(
            ("list_name", TEXT, "List", "subscription_list__name"),
            ("status", CHOICE, "Status", _choices(crm.SubscriptionStatus)),
            ("subscribed_at", DATETIME, "Subscribed on"),
            ("unsubscribed_at", DATETIME, "Unsubscribed on"),
        ),
    ),
    "registration": Entity(
        "registration",
        "Event registration",
        crm.EventRegistration,
        _fields(
            ("event_name", TEXT, "Event", "event__name"),
            ("registered_at", DATETIME, "Registered on"),
            ("attended", BOOLEAN, "Attended"),
        ),
    ),
}


def _column_resolved(model: type[models.Model], spec: Field) -> Field:
    """The field with `nullable` and `json_key` read from the model along its path."""
    nullable = False
    for part in spec.path.split("__"):
        column = model._meta.get_field(part)
        if isinstance(column, models.JSONField):  # a key may be missing or JSON null
            return replace(spec, nullable=True, json_key=True)
        nullable = nullable or column.null
        if column.is_relation:
            model = column.related_model
    return replace(spec, nullable=nullable)


ENTITIES = {
    name: replace(entity, fields={n: _column_resolved(entity.model, f) for n, f in entity.fields.items()})
    for name, entity in ENTITIES.items()
}

# Entities a segment definition may start from (its members are always contacts).
SEGMENT_ROOTS = ("contact", "account")
# Entities other features (e.g. lead-scoring rules) may compile conditions over.
ROOTS = ("contact", "account", "lead")


# --- Custom fields: `custom.<key>` on the entities that have them (crm_core.custom_fields) ----------

CUSTOM_TYPES = {
    crm.CustomFieldType.TEXT: TEXT,
    crm.CustomFieldType.NUMBER: NUMBER,
    crm.CustomFieldType.DATE: DATE,
    crm.CustomFieldType.CHOICE: CHOICE,
    crm.CustomFieldType.MULTI_CHOICE: MULTI_CHOICE,
    crm.CustomFieldType.BOOLEAN: BOOLEAN,
}


def custom_field(definition: crm.CustomField) -> Field:
    """A custom field as the compiler sees it: nullable (a missing key is empty), a JSON key."""
    return Field(
        name=definition.name,
        type=CUSTOM_TYPES[definition.field_type],
        label=definition.label,
        path=f"custom__{definition.key}",
        choices=tuple(custom_fields.choice_pairs(definition)),
        nullable=True,
        json_key=True,
        custom=definition,
    )


def custom_fields_of(entity: Entity) -> list[Field]:
    """The entity's custom fields (one query; none for entities without custom fields)."""
    if entity.name not in custom_fields.ENTITIES:
        return []
    return [custom_field(d) for d in custom_fields.definitions(entity.name)]


def field_of(entity: Entity, name) -> Field | None:
    """The field `name` of `entity`: a built-in one, or `custom.<key>` of a defined custom field."""
    if not isinstance(name, str):
        return None
    found = entity.fields.get(name)
    if found is not None or not name.startswith(custom_fields.PREFIX):
        return found
    definition = custom_fields.definition(entity.name, name)
    return None if definition is None else custom_field(definition)


def definition_uses_field(definition, root: str, entity: str, name: str) -> bool:
    """Does a definition (rooted at `root`) have a condition on field `name` of `entity`, at any depth?"""

    def visit(node, here: str) -> bool:
        conditions = node.get("conditions") if isinstance(node, dict) else None
        for child in conditions if isinstance(conditions, list) else []:
            if not isinstance(child, dict):
                continue
            if child.get("field") == name and here == entity:
                return True
            if "related" in child:
                rel = (
                    ENTITIES[here].relationships.get(child["related"])
                    if isinstance(child["related"], str)
                    else None
                )
                if rel is not None and visit(child, rel.target):
                    return True
            elif "field" not in child and visit(child, here):
                return True
        return False

    return isinstance(definition, dict) and visit(definition, definition.get("entity", root))
