"""An import's contacts on PostgreSQL: the rows COPYed into a temporary table, then a few
statements whatever the file's size (the consent trail, the update of known contacts, the insert
of new ones with `ON CONFLICT ((lower(email))) DO NOTHING`). The portable path of the same
algorithm is `import_write_portable`."""

from __future__ import annotations

import json

from django.db import connection, models
from django.utils import timezone

from ..consent import PREFERENCE_FIELDS
from ..models import ConsentChange, ConsentSource, Contact, ContactOrigin

_CONTACT = Contact._meta.db_table
_TRAIL = ConsentChange._meta.db_table
_TEMP = "import_contact_rows"


def _field(attname: str) -> models.Field:
    return next(f for f in Contact._meta.concrete_fields if f.attname == attname)


def _as_text(expression: str, model_field: models.Field) -> str:
    """A preference value as the consent trail stores it (crm_core.consent.changes.text_value)."""
    if isinstance(model_field, models.BooleanField):
        return f"CASE WHEN {expression} THEN 'True' ELSE 'False' END"
    return f"({expression})::text"


def _cell(values: dict, attname: str):
    """A row's value as COPY writes it (custom values as JSON text, which the jsonb column parses)."""
    value = values.get(attname)
    if attname == "custom" and value is not None:
        return json.dumps(value)
    return value


def _copy_rows(cursor, fields: list[str], rows: list[tuple]) -> None:
    columns = ", ".join(["row_no", "id", "is_new", *fields])
    types = ", ".join(f"{connection.ops.quote_name(a)} {_field(a).db_type(connection)}" for a in fields)
    cursor.execute(f"DROP TABLE IF EXISTS pg_temp.{_TEMP}")  # two imports in one transaction (tests)
    cursor.execute(
        f"CREATE TEMP TABLE {_TEMP} (row_no integer PRIMARY KEY, id bigint NOT NULL, is_new boolean NOT NULL"
        f"{', ' if fields else ''}{types}) ON COMMIT DROP"
    )
    with cursor.cursor.copy(f"COPY {_TEMP} ({columns}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
    cursor.execute(f"ANALYZE {_TEMP}")


def _trail(cursor, fields: list[str], *, new: bool, actor_id, now) -> None:
    """One `ConsentChange` per preference that a row really changes (new rows: from the default)."""
    for attname in fields:
        if attname not in PREFERENCE_FIELDS:
            continue
        model_field = _field(attname)
        col = connection.ops.quote_name(model_field.column)
        if new:
            old, params = "%s", [model_field.get_db_prep_save(model_field.get_default(), connection)]
        else:
            old, params = f"c.{col}", []
        cursor.execute(
            f"""INSERT INTO {_TRAIL} (contact_id, field, subscription_list_id, old_value, new_value,
                    source, actor_id, ip_address, changed_at)
                SELECT c.id, %s, NULL, {_as_text(old, model_field)}, {_as_text(f"t.{col}", model_field)},
                    %s, %s, NULL, %s
                FROM {_TEMP} t JOIN {_CONTACT} c ON c.id = t.id
                WHERE t.is_new = %s AND t.{col} IS NOT NULL AND t.{col} IS DISTINCT FROM {old}
                ORDER BY t.row_no""",
            [attname, *params, ConsentSource.IMPORT.value, actor_id, now, new, *params],
        )


def _new_value(attname: str) -> str:
    """A known contact's new value of a column: the cell, else the stored value; custom values are
    merged key by key into the stored ones (the cells given replace their keys, the others stay)."""
    col = connection.ops.quote_name(_field(attname).column)
    if attname == "custom":
        return f"c.{col} || COALESCE(t.{col}, '{{}}'::jsonb)"
    return f"COALESCE(t.{col}, c.{col})"


def _update_known(cursor, fields: list[str], *, actor_id, now) -> list[int]:
    cols = [connection.ops.quote_name(_field(a).column) for a in fields]
    news = [_new_value(a) for a in fields]
    sets = ", ".join(f"{c} = {n}" for c, n in zip(cols, news, strict=True))
    old = ", ".join(f"c.{c}" for c in cols)
    new = ", ".join(news)
    cursor.execute(
        f"""UPDATE {_CONTACT} c SET {sets}, updated_at = %s, updated_by_id = %s
            FROM {_TEMP} t
            WHERE c.id = t.id AND NOT t.is_new AND ROW({old}) IS DISTINCT FROM ROW({new})
            RETURNING c.id""",
        [now, actor_id],
    )
    return [pk for (pk,) in cursor.fetchall()]


def _insert_new(cursor, fields: list[str], *, actor_id, now) -> list[int]:
    given = {
        "origin": ("%s", [ContactOrigin.IMPORT.value]),
        "created_at": ("%s", [now]),
        "updated_at": ("%s", [now]),
        "created_by_id": ("%s", [actor_id]),
        "updated_by_id": ("%s", [actor_id]),
    }
    columns, expressions, params = ["id"], ["t.id"], []
    for model_field in Contact._meta.concrete_fields:
        if model_field.primary_key:
            continue
        columns.append(connection.ops.quote_name(model_field.column))
        if model_field.attname in given:
            expression, values = given[model_field.attname]
        else:
            expression = "%s"
            values = [model_field.get_db_prep_save(model_field.get_default(), connection)]
            if model_field.attname in fields:
                expression = f"COALESCE(t.{connection.ops.quote_name(model_field.column)}, %s)"
        expressions.append(expression)
        params.extend(values)
    cursor.execute(
        f"""INSERT INTO {_CONTACT} ({", ".join(columns)})
            SELECT {", ".join(expressions)} FROM {_TEMP} t WHERE t.is_new ORDER BY t.row_no
            ON CONFLICT ((lower(email))) DO NOTHING
            RETURNING id""",
        params,
    )
    return [pk for (pk,) in cursor.fetchall()]


def contacts_write(
    *, rows: list[dict], known: dict[str, int], update_known: bool, fields: list[str], actor_id, progress
) -> tuple[list[int | None], set[int], set[int]]:
    """Write the cleaned rows; return each row's contact id (None: skipped), the created and the
    updated ids. A known contact is updated only with the cells given (an empty cell keeps its value)."""
    now = timezone.now()
    ids: list[int | None] = []
    copied: list[tuple] = []
    new_count = sum(1 for values in rows if values.get("email") not in known)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
            [_CONTACT, new_count],
        )
        fresh = iter([pk for (pk,) in cursor.fetchall()])
        for number, values in enumerate(rows, start=1):
            pk = known.get(values.get("email"))
            if pk is not None and not update_known:
                ids.append(None)
                continue
            is_new = pk is None
            pk = next(fresh) if is_new else pk
            ids.append(pk)
            copied.append((number, pk, is_new, *(_cell(values, a) for a in fields)))
        _copy_rows(cursor, fields, copied)
        progress(len(rows) // 4)
        _trail(cursor, fields, new=False, actor_id=actor_id, now=now)
        updated = set(_update_known(cursor, fields, actor_id=actor_id, now=now)) if update_known else set()
        progress(len(rows) // 2)
        created = set(_insert_new(cursor, fields, actor_id=actor_id, now=now))
        _trail(cursor, fields, new=True, actor_id=actor_id, now=now)
    return ids, created, updated
