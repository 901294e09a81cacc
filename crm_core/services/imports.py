"""Bulk lead import: all rows validated first, inserted set-based, orphans linked in the batch."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction

from .. import events
from ..models import Account, Contact, Lead, LeadSource
from ..selectors import orphan_workflow_enabled
from .orphans import lead_link_orphans
from .records import LEAD_CREATE_FIELD_ORDER

# --- Bulk lead import ------------------------------------------------------------------------

LEAD_IMPORT_MAX_ROWS = 10_000  # per API request; the CSV command has no limit
LEAD_IMPORT_FIELDS = LEAD_CREATE_FIELD_ORDER  # what `lead_create` accepts, in CSV column order
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
