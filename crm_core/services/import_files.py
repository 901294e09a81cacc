"""Reading import files (CSV and XLSX, with tablib) and what their columns may be mapped to.

`import_targets(entity)` is the one list of mappable fields per entity: the upload's suggestions,
the mapping's validation, the UI's selects and the API all read it. Custom fields join here (a
`custom.<name>` target per field the custom-field registry defines).
"""

from __future__ import annotations

import csv
import hashlib
import io
import itertools
import re
from dataclasses import dataclass

import tablib
from django.core.exceptions import ValidationError

from .. import custom_fields
from ..consent import PREFERENCE_FIELDS
from ..models import Account, Contact, ImportEntity, Lead
from .imports import LEAD_IMPORT_FIELDS

FORMATS = ("csv", "xlsx")
MAX_IMPORT_ROWS = 1_000_000

_CONTACT_TARGETS = (
    "email",
    "first_name",
    "last_name",
    "phone",
    "job_title",
    "job_role",
    "country",
    "city",
    "parent_account",
    "owner",
    "is_minor",
    *PREFERENCE_FIELDS,
)
_ACCOUNT_TARGETS = (
    "name",
    "industry",
    "country",
    "website",
    "employees",
    "annual_revenue",
    "owner",
    "parent_account",
)
_MODELS = {ImportEntity.CONTACT: Contact, ImportEntity.ACCOUNT: Account, ImportEntity.LEAD: Lead}
REQUIRED_TARGETS = {ImportEntity.CONTACT: (), ImportEntity.ACCOUNT: ("name",), ImportEntity.LEAD: ("topic",)}


@dataclass(frozen=True)
class Target:
    """A field a column may be mapped to."""

    name: str
    label: str
    required: bool = False
    custom: bool = False  # a custom field (`custom.<key>`)


def import_model(entity: str):
    return _MODELS[entity]


def import_targets(entity: str) -> list[Target]:
    """The fields a column of an `entity` import may be mapped to (the one list: extend it here):
    the built-in ones, then each custom field of the entity as `custom.<key>` (one query)."""
    names = {
        ImportEntity.CONTACT: _CONTACT_TARGETS,
        ImportEntity.ACCOUNT: _ACCOUNT_TARGETS,
        ImportEntity.LEAD: LEAD_IMPORT_FIELDS,
    }[entity]
    model = _MODELS[entity]
    required = REQUIRED_TARGETS[entity]
    built_in = [
        Target(name, str(model._meta.get_field(name).verbose_name).capitalize(), name in required)
        for name in names
    ]
    custom = [
        Target(field.name, field.label, field.required, custom=True)
        for field in custom_fields.definitions(entity)
    ]
    return built_in + custom


def target_attname(model, name: str) -> str:
    """The model attribute a mapped target writes: `custom` for every `custom.<key>`."""
    if name.startswith(custom_fields.PREFIX):
        return "custom"
    return model._meta.get_field(name).attname


@dataclass
class ImportFile:
    header: list[str]
    rows: list[list[str]]  # every data row as text ("" for an empty cell), as long as the header


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def file_format_of(name: str) -> str:
    """ "csv" or "xlsx" by the file's name; ValidationError for anything else."""
    suffix = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if suffix not in FORMATS:
        raise ValidationError({"file": [f"Upload a .csv or .xlsx file (got {name!r})."]})
    return suffix


def _csv_rows(content: bytes, limit: int | None) -> list[list[str]]:
    """CSV rows through the standard library's C reader (tablib's CSV loader builds a row object per
    line: ten times slower at 100,000 rows); `limit` data rows after the header."""
    text = content.decode("utf-8-sig")
    reader = csv.reader(io.StringIO(text, newline=""))
    rows = list(itertools.islice(reader, None if limit is None else limit + 1))
    return [[cell.strip() for cell in row] for row in rows if any(row)]


def _xlsx_rows(content: bytes, limit: int | None) -> list[list[str]]:
    dataset = tablib.Dataset().load(content, format="xlsx")
    data = dataset._data[:limit] if limit is not None else dataset._data
    return [[_text(v) for v in (dataset.headers or [])], *([_text(v) for v in row] for row in data)]


def import_file_read(content: bytes, file_format: str, *, limit: int | None = None) -> ImportFile:
    """The header and rows (at most `limit`) of a CSV (UTF-8) or XLSX file; ValidationError naming
    what is wrong. XLSX through tablib (openpyxl)."""
    try:
        rows = _csv_rows(content, limit) if file_format == "csv" else _xlsx_rows(content, limit)
    except UnicodeDecodeError as error:
        raise ValidationError({"file": ["The CSV file is not UTF-8 text."]}) from error
    except Exception as error:  # csv, tablib and openpyxl raise many kinds for a broken file
        message = f"The file cannot be read as {file_format.upper()}: {error}"
        raise ValidationError({"file": [message]}) from error
    header = rows[0] if rows else []
    if not header or not any(header):
        raise ValidationError({"file": ["The file has no header row (the column names)."]})
    header = [name or f"column {index}" for index, name in enumerate(header, start=1)]
    seen: set[str] = set()
    for name in header:
        if name.lower() in seen:
            raise ValidationError({"file": [f"The column {name!r} appears twice in the header."]})
        seen.add(name.lower())
    data = rows[1:]
    if len(data) > MAX_IMPORT_ROWS:
        message = f"The file has {len(data):,} rows; the limit is {MAX_IMPORT_ROWS:,}."
        raise ValidationError({"file": [message]})
    return ImportFile(header=header, rows=data)


def header_signature(header: list[str]) -> str:
    return hashlib.sha256("\x1f".join(name.strip().lower() for name in header).encode()).hexdigest()


def _key(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "", text.lower())


def mapping_suggest(entity: str, header: list[str]) -> dict[str, str]:
    """A column -> field guess from the column names (by field name or label, ignoring case and
    punctuation: "E-mail", "First name", "first_name"); "" for a column left out."""
    by_key: dict[str, str] = {}
    for target in import_targets(entity):
        by_key.setdefault(_key(target.name), target.name)
        by_key.setdefault(_key(target.label), target.name)
    if entity != ImportEntity.ACCOUNT:
        by_key.setdefault("emailaddress", "email")
    mapping, used = {}, set()
    for column in header:
        target = by_key.get(_key(column), "")
        if target in used:
            target = ""
        used.add(target)
        mapping[column] = target
    return mapping


def mapping_check(entity: str, header: list[str], mapping: dict) -> dict[str, str]:
    """The mapping cleaned (every column of the header, "" = left out); ValidationError otherwise."""
    if not isinstance(mapping, dict):
        raise ValidationError({"mapping": ["Expected an object: column name -> field name."]})
    targets = {target.name for target in import_targets(entity)}
    errors: list[str] = []
    for column in sorted(set(mapping) - set(header), key=str):
        errors.append(f"{column!r} is not a column of the file.")
    cleaned: dict[str, str] = {}
    used: dict[str, str] = {}
    for column in header:
        target = mapping.get(column) or ""
        if not isinstance(target, str):
            errors.append(f"Column {column!r}: expected a field name.")
            continue
        if target and target not in targets:
            errors.append(f"Column {column!r}: {target!r} is not a field of a {entity} import.")
        elif target in used:
            errors.append(f"Columns {used[target]!r} and {column!r} are both mapped to {target!r}.")
        elif target:
            used[target] = column
        cleaned[column] = target
    for name in REQUIRED_TARGETS[entity]:
        if name not in used:
            errors.append(f"Map a column to {name!r}: a {entity} needs it.")
    if not used and not errors:
        errors.append("Map at least one column to a field.")
    if errors:
        raise ValidationError({"mapping": errors})
    return cleaned
