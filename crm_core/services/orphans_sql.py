"""The orphan-lead workflow's batch on PostgreSQL: three statements, whatever the batch size.

Insert the missing contacts (one per email, conflicts on lower(email) absorbed), link the leads
with an email (UPDATE ... FROM), and create-and-link the contacts of leads without one (one
statement). The portable path of the same algorithm is `orphans_portable`.
"""

from __future__ import annotations

from django.db import connection
from django.utils import timezone

from ..models import Contact, ContactOrigin, Lead

_LEAD = Lead._meta.db_table
_CONTACT = Contact._meta.db_table
_LEAD_EMAIL = "lower(btrim(l.email))"
# The lead columns a new contact is made from (selected narrowly: the batch is sorted by email).
_LEAD_SOURCE = (
    "l.id, l.email, l.first_name, l.last_name, l.job_title, l.job_role, l.parent_account_id, l.owner_id"
)


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


def link_locked_batch(ids: list[int], *, run_started) -> tuple[int, int, list[int], set[int]]:
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
