"""Validation of every row of an import before anything is written: values by the model's own
fields, referenced records and known emails looked up set-based (a query per kind and chunk of
values, never a query per row)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.core import validators
from django.core.exceptions import ValidationError
from django.db import connection, models

from .. import custom_fields
from ..addresses import normalize_email
from ..models import Account, Contact, CustomField, ImportEntity
from ..sqlpath import postgres_sql
from .import_files import import_model
from .imports import LeadImportInvalid, lead_import_clean

LOOKUP_CHUNK = 5_000
_TRUE = frozenset({"1", "true", "t", "yes", "y", "x", "on"})
_FALSE = frozenset({"0", "false", "f", "no", "n", "off"})


@dataclass(frozen=True)
class RowError:
    row: int  # 1 = the first row under the header
    column: str
    field: str
    message: str


@dataclass
class CleanRows:
    values: list[dict]  # per row: model attribute name -> value (only the cells given)
    errors: list[RowError] = field(default_factory=list)
    known: dict[str, int] = field(default_factory=dict)  # contacts: known email -> contact id


def _converter(model_field: models.Field) -> Callable[[str], object]:
    if model_field.is_relation:

        def to_id(text: str) -> int:
            try:
                return int(text)
            except ValueError:
                raise ValidationError(f"Expected an id, got {text!r}.") from None

        return to_id
    if isinstance(model_field, models.BooleanField):

        def to_bool(text: str) -> bool:
            lowered = text.lower()
            if lowered in _TRUE or lowered in _FALSE:
                return lowered in _TRUE
            raise ValidationError(f"Expected yes or no, got {text!r}.")

        return to_bool
    if model_field.choices:
        by_text = {}
        for value, label in model_field.flatchoices:
            by_text[str(value).lower()] = value
            by_text[str(label).lower()] = value

        def to_choice(text: str):
            try:
                return by_text[text.lower()]
            except KeyError:
                raise ValidationError(f"{text!r} is not one of the choices.") from None

        return to_choice
    plain = (validators.MaxLengthValidator, validators.ProhibitNullCharactersValidator)
    if type(model_field) in (models.CharField, models.TextField) and all(
        isinstance(v, plain) for v in model_field.validators
    ):
        limit = model_field.max_length

        def to_text(text: str) -> str:  # what clean() checks for a plain text field, without its cost
            if limit is not None and len(text) > limit:
                raise ValidationError(
                    f"Ensure this value has at most {limit} characters (it has {len(text)})."
                )
            if "\x00" in text:
                raise ValidationError("Null characters are not allowed.")
            return text

        return to_text
    return lambda text: model_field.clean(text, None)


def _chunks(values: Sequence, size: int = LOOKUP_CHUNK):
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _references_check(model, field_name: str, ids: dict[int, list[int]], column: str, errors: list) -> None:
    keys = list(ids)
    found: set[int] = set()
    for chunk in _chunks(keys):
        found.update(model._default_manager.filter(pk__in=chunk).values_list("pk", flat=True))
    label = model._meta.verbose_name
    for pk in keys:
        if pk not in found:
            for row in ids[pk]:
                errors.append(RowError(row, column, field_name, f"There is no {label} with id {pk}."))


def known_emails(emails: Sequence[str]) -> dict[str, int]:
    """email -> contact id of the contacts that have one of these (normalised) emails."""
    if postgres_sql():  # one probe of contact_email_ci_unique per email, one statement
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT lower(email), id FROM {Contact._meta.db_table} WHERE lower(email) = ANY(%s::text[])",
                [list(emails)],
            )
            return dict(cursor.fetchall())
    known: dict[str, int] = {}
    for chunk in _chunks(list(emails)):
        known.update(Contact.objects.filter(email__in=chunk).values_list("email", "pk"))
    return known


@dataclass(frozen=True)
class _Column:
    index: int
    column: str
    name: str  # the target: a model field or `custom.<key>`
    attname: str
    convert: Callable[[str], object]
    key: str = ""  # a custom field's key


def _custom_converter(field: CustomField) -> Callable[[str], object]:
    """A cell as the custom field's stored value (None: empty), as `values_clean` checks it."""

    def convert(text: str):
        return custom_fields.value_clean(field, custom_fields.parse_cell(field, text))

    return convert


def _columns(entity: str, mapping: dict[str, str], header: list[str], definitions: dict) -> list[_Column]:
    model = import_model(entity)
    columns = []
    for index, column in enumerate(header):
        name = mapping.get(column)
        if not name:
            continue
        if name.startswith(custom_fields.PREFIX):
            key = name.removeprefix(custom_fields.PREFIX)
            if key not in definitions:
                message = f"Column {column!r}: there is no custom field {name!r} on {entity} any more."
                raise ValidationError({"mapping": [message]})
            columns.append(_Column(index, column, name, "custom", _custom_converter(definitions[key]), key))
            continue
        model_field = model._meta.get_field(name)
        columns.append(_Column(index, column, name, model_field.attname, _converter(model_field)))
    return columns


def _required_custom_check(entity: str, result: CleanRows, definitions: dict, columns) -> None:
    """Rows that create a record (every account; a contact whose email is not known) need a value
    for each required custom field (a bad cell is reported once, as bad)."""
    required = [definition for definition in definitions.values() if definition.required]
    if not required:
        return
    column_of = {c.key: c.column for c in columns if c.key}
    reported = {(error.row, error.field) for error in result.errors}
    for number, values in enumerate(result.values, start=1):
        if entity == ImportEntity.CONTACT and values.get("email") in result.known:
            continue
        given = values.get("custom") or {}
        for definition in required:
            if definition.key not in given and (number, definition.name) not in reported:
                message = "This custom field is required."
                column = column_of.get(definition.key, "")
                result.errors.append(RowError(number, column, definition.name, message))


def records_clean(
    entity: str, mapping: dict[str, str], header: list[str], rows: Sequence[Sequence[str]], progress=None
) -> CleanRows:
    """Check every row of a contact or account import; leads go through `lead_import_clean`.
    Custom fields' cells become each row's `custom` ({key: value}, only the cells given)."""
    if entity == ImportEntity.LEAD:
        return _leads_clean(mapping, header, rows)
    definitions = {f.key: f for f in custom_fields.definitions(entity)}
    columns = _columns(entity, mapping, header, definitions)
    result = CleanRows(values=[])
    errors = result.errors
    references: dict[str, tuple[str, dict[int, list[int]]]] = {}
    first_row_of: dict[str, int] = {}
    for number, row in enumerate(rows, start=1):
        values = {}
        for c in columns:
            text = row[c.index] if c.index < len(row) else ""
            if text == "":
                continue
            try:
                value = c.convert(text)
            except ValidationError as error:
                errors.append(RowError(number, c.column, c.name, " ".join(error.messages)))
                continue
            if c.key:
                if value is not None:
                    values.setdefault("custom", {})[c.key] = value
                continue
            if c.attname != c.name:
                references.setdefault(c.name, (c.column, {}))[1].setdefault(value, []).append(number)
            elif c.name == "email":
                value = normalize_email(value)
                if value in first_row_of:
                    message = f"The email is also in row {first_row_of[value]}."
                    errors.append(RowError(number, c.column, c.name, message))
                    continue
                first_row_of[value] = number
            values[c.attname] = value
        result.values.append(values)
        if progress and number % 10_000 == 0:
            progress(number)
    for name, (column, ids) in references.items():
        target = get_user_model() if name == "owner" else (Account if name == "parent_account" else Contact)
        _references_check(target, name, ids, column, errors)
    if first_row_of:
        result.known = known_emails(list(first_row_of))
    _required_custom_check(entity, result, definitions, columns)
    errors.sort(key=lambda error: (error.row, error.column))
    return result


def _leads_clean(mapping: dict[str, str], header: list[str], rows: Sequence[Sequence[str]]) -> CleanRows:
    pairs = [(index, column, mapping[column]) for index, column in enumerate(header) if mapping.get(column)]
    column_of = {name: column for _, column, name in pairs}
    lead_rows = [
        {name: row[index] for index, _, name in pairs if index < len(row) and row[index] != ""}
        for row in rows
    ]
    try:
        lead_import_clean(rows=lead_rows)
    except LeadImportInvalid as invalid:
        errors = [
            RowError(index + 1, column_of.get(name, ""), name, " ".join(messages))
            for index, by_field in invalid.errors
            for name, messages in sorted(by_field.items())
        ]
        return CleanRows(values=[], errors=errors)
    return CleanRows(values=lead_rows)  # the rows as `lead_bulk_import` takes them (it cleans again)
