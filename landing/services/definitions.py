"""The one check of a landing page's definition: can its form identify a contact and write only to
fields that exist? The editor, the API, the admin and the page services use it, and processing
refuses a stored page that fails it (a permanent failure, not retried).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import NamedTuple

from django.core.exceptions import ValidationError

from crm_core import custom_fields
from crm_core.models import CustomField, CustomFieldType

from ..models import CONTACT_TARGETS, LEAD_TARGETS, ContactMatching, FieldType, FormField

# The form field types that may set a custom field of each type (the public form then renders the
# custom field's own input: a number, a date, its choices, a checkbox).
CUSTOM_FORM_TYPES = {
    CustomFieldType.TEXT: (FieldType.TEXT, FieldType.TEXTAREA, FieldType.EMAIL),
    CustomFieldType.NUMBER: (FieldType.TEXT,),
    CustomFieldType.DATE: (FieldType.TEXT,),
    CustomFieldType.CHOICE: (FieldType.CHOICE,),
    CustomFieldType.MULTI_CHOICE: (FieldType.CHOICE,),
    CustomFieldType.BOOLEAN: (FieldType.CHECKBOX,),
}
TARGET_ENTITIES = {"contact_field": "contact", "lead_field": "lead"}


def custom_targets(attribute: str) -> dict[str, CustomField]:
    """The custom fields a form field's `contact_field` / `lead_field` may name, by `custom.<key>`."""
    return {f.name: f for f in custom_fields.definitions(TARGET_ENTITIES[attribute])}


def mapping_choices(attribute: str) -> list[tuple[str, str]]:
    """The targets of `contact_field` / `lead_field` for a select: built-in, then custom fields."""
    builtin = CONTACT_TARGETS if attribute == "contact_field" else LEAD_TARGETS
    custom = [(name, f"{f.label} (custom)") for name, f in custom_targets(attribute).items()]
    return [("", "(none)"), *((n, n.replace("_", " ").capitalize()) for n in builtin), *custom]


# Besides email, the contact fields each matching strategy compares (case-insensitively).
MATCHING_FIELDS = {
    ContactMatching.EMAIL: (),
    ContactMatching.EMAIL_LAST_NAME: ("last_name",),
    ContactMatching.EMAIL_FULL_NAME: ("first_name", "last_name"),
}


class DefinitionProblem(NamedTuple):
    """One reason a page's form could not turn submissions into a contact and a lead.

    `row`: index of the form field at fault (None: the form as a whole); `attribute`: the form
    field's attribute at fault, or, with no row, the page's (None: the form's fields together).
    """

    message: str
    row: int | None = None
    attribute: str | None = None


class LandingPageInvalid(ValidationError):
    """A page definition refused by `landing_form_problems`; `problems` says where and why."""

    def __init__(self, problems: list[DefinitionProblem]):
        super().__init__([p.message for p in problems])
        self.problems = problems


EMAIL_FIELD_MISSING = (
    "The form needs a required email field mapped to the contact's email: "
    "without it no submission can become a contact."
)


def _custom_problem(field: Mapping, target: str, custom: CustomField | None, what: str) -> str | None:
    if custom is None:
        return f"A {what} has no field “{target}”."
    allowed = CUSTOM_FORM_TYPES[custom.field_type]
    if field.get("field_type") not in allowed:
        kinds = " or ".join(FieldType(t).label for t in allowed)
        kind = custom.get_field_type_display()
        return f"The {what}'s custom field “{custom.label}” ({kind}) needs a {kinds} field."
    return None


def _row_problems(index: int, field: Mapping, seen: dict[str, set], customs: dict) -> list[DefinitionProblem]:
    problems = []
    name = field.get("name")
    if name in seen["name"]:
        problems.append(DefinitionProblem("Another form field already has this name.", index, "name"))
    seen["name"].add(name)
    for attribute, targets, what in (
        ("contact_field", CONTACT_TARGETS, "contact"),
        ("lead_field", LEAD_TARGETS, "lead"),
    ):
        target = field.get(attribute) or ""
        if not target:
            continue
        if target.startswith(custom_fields.PREFIX):
            problem = _custom_problem(field, target, customs[attribute].get(target), what)
            if target in seen[attribute]:
                problem = f"Another form field already sets the {what}'s {target}."
            if problem:
                problems.append(DefinitionProblem(problem, index, attribute))
            seen[attribute].add(target)
            continue
        if target not in targets:
            problems.append(DefinitionProblem(f"A {what} has no field “{target}”.", index, attribute))
        elif target in seen[attribute]:
            message = f"Another form field already sets the {what}'s {target}."
            problems.append(DefinitionProblem(message, index, attribute))
        elif field.get("field_type") == FieldType.CHECKBOX:
            message = f"A checkbox gives only yes or no; it cannot set the {what}'s {target}."
            problems.append(DefinitionProblem(message, index, attribute))
        seen[attribute].add(target)
    maps_custom = any(str(field.get(a) or "").startswith(custom_fields.PREFIX) for a in TARGET_ENTITIES)
    if field.get("field_type") == FieldType.CHOICE and not field.get("choices") and not maps_custom:
        problems.append(DefinitionProblem("A choice field needs at least one choice.", index, "choices"))
    return problems


def _email_problems(fields: Sequence[Mapping]) -> list[DefinitionProblem]:
    rows = [index for index, field in enumerate(fields) if field.get("contact_field") == "email"]
    if not rows:
        return [DefinitionProblem(EMAIL_FIELD_MISSING)]
    field, problems = fields[rows[0]], []
    if not field.get("required"):
        message = "The field mapped to the contact's email must be required: it identifies the contact."
        problems.append(DefinitionProblem(message, rows[0], "required"))
    if field.get("field_type") != FieldType.EMAIL:
        message = "The field mapped to the contact's email must be of type Email."
        problems.append(DefinitionProblem(message, rows[0], "field_type"))
    return problems


def _matching_problems(fields: Sequence[Mapping], contact_matching: str) -> list[DefinitionProblem]:
    if contact_matching not in MATCHING_FIELDS:
        return [DefinitionProblem("Unknown contact matching.", None, "contact_matching")]
    mapped = {field.get("contact_field") for field in fields}
    missing = [name for name in MATCHING_FIELDS[contact_matching] if name not in mapped]
    if not missing:
        return []
    message = f"This contact matching needs a form field mapped to the contact's {' and '.join(missing)}."
    return [DefinitionProblem(message, None, "contact_matching")]


def landing_form_problems(*, fields: Sequence[Mapping], contact_matching: str) -> list[DefinitionProblem]:
    """Why a form with these fields (dicts of FormField attributes) could not identify a contact
    or would write to fields that do not exist; empty when it is sound.

    The one check of a page definition: the editor, the API, the admin and the services use it,
    and processing refuses a stored page that fails it (a permanent failure, not retried).
    """
    seen: dict[str, set] = {"name": set(), "contact_field": set(), "lead_field": set()}
    customs = {  # a query only for an entity some form field maps a custom field of
        attribute: custom_targets(attribute)
        if any(str(f.get(attribute) or "").startswith(custom_fields.PREFIX) for f in fields)
        else {}
        for attribute in TARGET_ENTITIES
    }
    problems = [p for index, field in enumerate(fields) for p in _row_problems(index, field, seen, customs)]
    return problems + _email_problems(fields) + _matching_problems(fields, contact_matching)


FIELD_ATTRIBUTES = ("name", "field_type", "required", "choices", "contact_field", "lead_field")


def page_field_rows(page_fields: Sequence[FormField]) -> list[dict]:
    """Stored form fields as the dicts `landing_form_problems` reads."""
    return [{name: getattr(field, name) for name in FIELD_ATTRIBUTES} for field in page_fields]


def check_definition(*, fields: Sequence[Mapping], contact_matching: str) -> None:
    """LandingPageInvalid (with every problem) unless a form with these fields is sound."""
    problems = landing_form_problems(fields=fields, contact_matching=contact_matching)
    if problems:
        raise LandingPageInvalid(problems)
