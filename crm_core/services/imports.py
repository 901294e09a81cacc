"""Bulk lead import: all rows validated first, inserted set-based, orphans linked in the batch."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction

from .. import custom_fields, events
from ..models import Account, Contact, Lead, LeadSource
from ..selectors import orphan_workflow_enabled
from .orphans import lead_link_orphans
from .records import LEAD_CREATE_FIELD_ORDER

# --- Bulk lead import ------------------------------------------------------------------------

LEAD_IMPORT_MAX_ROWS = 10_000  # per API request; the CSV command has no limit
# What `lead_create` accepts, in CSV column order; custom values come as a `custom` object (JSON) or
# as `custom.<key>` columns (text, parsed by the field's type).
LEAD_IMPORT_FIELDS = tuple(n for n in LEAD_CREATE_FIELD_ORDER if n != "custom")
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


def _custom_clean(row: dict, definitions: dict, row_errors: dict) -> dict:
    """The row's custom values (its `custom` object and `custom.<key>` text columns), validated as
    a new lead's (required custom fields included); problems go into `row_errors`."""
    given = row.get("custom") or {}
    if not isinstance(given, dict):
        row_errors["custom"] = ["Expected an object of custom field values by key."]
        return {}
    given = dict(given)
    for name, raw in row.items():
        if not str(name).startswith(custom_fields.PREFIX):
            continue
        key = str(name).removeprefix(custom_fields.PREFIX)
        field = definitions.get(key)
        if field is None:
            row_errors[str(name)] = [f"Unknown custom field “{key}” on lead."]
            continue
        try:
            given[key] = custom_fields.parse_cell(field, raw) if isinstance(raw, str) else raw
        except ValidationError as error:
            row_errors[str(name)] = list(error.messages)
    try:
        return custom_fields.values_clean("lead", given, creating=True, fields=definitions)
    except custom_fields.CustomValuesInvalid as invalid:
        for key, messages in invalid.errors.items():
            row_errors[f"custom.{key}"] = messages
        return {}


def lead_import_clean(*, rows: Sequence) -> list[dict]:
    """Validate every row (a dict of lead fields); return cleaned values or raise LeadImportInvalid.

    Field values are checked by the Lead model's own fields; referenced contacts, accounts and
    owners are checked set-based (one query per kind), never a query per row.
    """
    cleaned: list[dict] = []
    errors: dict[int, dict[str, list[str]]] = {}
    definitions = {f.key: f for f in custom_fields.definitions("lead")}
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
            if name != "custom" and not str(name).startswith(custom_fields.PREFIX):
                row_errors[str(name)] = ["Unknown field."]
        values["custom"] = _custom_clean(row, definitions, row_errors)
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
        actor_id = imported_by.pk if imported_by is not None and imported_by.is_authenticated else None
        leads = Lead.objects.bulk_create(
            [
                Lead(**values, created_by_id=actor_id, updated_by_id=actor_id)
                for values in cleaned[start : start + batch_size]
            ]
        )
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
    events.records_changed_on_commit(
        entity=events.LEAD,
        action=events.CREATED,
        ids=result.lead_ids,
        contact_ids={values.get("parent_contact_id") for values in cleaned},
    )
    return result
