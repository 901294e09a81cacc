"""The duplicate detection job on PostgreSQL: one statement finds every candidate pair over the whole
contact table and replaces `DuplicateCandidate`'s rows (crm_core/duplicate_scan.py has the rules).

Each key rule is one GROUP BY over one sequential read of the contact table: the keys shared by 2 to
`MAX_GROUP` contacts, with their ids (`array_agg`), then every pair inside each group (two `unnest`s
of the group's ids): no join of the table with itself, no per-contact probe. The lead rule is one
hash join of the leads (linked to a contact, with an email) with the contacts on lower(email). The
pairs, with their reasons aggregated, are then merged into the table in the same statement:
pairs no longer found are deleted (kept while dismissed, unless a contact is gone), new ones inserted,
the others keep `found_at` and `dismissed` (their reasons are refreshed).
"""

from __future__ import annotations

from django.db import connection, transaction

from .models import Contact, DuplicateCandidate, Lead

_CONTACT = Contact._meta.db_table
_LEAD = Lead._meta.db_table
_TABLE = DuplicateCandidate._meta.db_table

# {key}: the rule's key over contact c; {where}: which contacts the rule looks at.
_GROUP_PAIRS = """    SELECT i.id AS a_id, j.id AS b_id, '{reason}' AS reason
    FROM (
        SELECT array_agg(c.id) AS ids FROM {contact} c WHERE {where}
        GROUP BY {key} HAVING count(*) BETWEEN 2 AND %(max_group)s
    ) g
    CROSS JOIN LATERAL unnest(g.ids) AS i(id)
    CROSS JOIN LATERAL unnest(g.ids) AS j(id)
    WHERE i.id < j.id"""

_EMAIL = "c.email IS NOT NULL AND length(split_part(c.email, '@', 1)) >= %(min_local)s"

FOUND = (
    "found AS MATERIALIZED (\n"
    "  SELECT a_id, b_id, string_agg(DISTINCT reason, ',' ORDER BY reason) AS reasons\n  FROM (\n"
    + "\n  UNION ALL\n".join(
        [
            _GROUP_PAIRS.format(
                reason="same_name_account",
                contact=_CONTACT,
                where="c.parent_account_id IS NOT NULL AND (c.first_name <> '' OR c.last_name <> '')",
                key="c.parent_account_id, lower(c.first_name), lower(c.last_name)",
            ),
            _GROUP_PAIRS.format(
                reason="email_other_domain", contact=_CONTACT, where=_EMAIL, key="split_part(c.email, '@', 1)"
            ),
            _GROUP_PAIRS.format(
                reason="email_similar", contact=_CONTACT, where=_EMAIL, key="translate(c.email, '.-_', '')"
            ),
            f"""    SELECT LEAST(l.parentcontactid, b.id), GREATEST(l.parentcontactid, b.id), 'lead_email'
    FROM {_LEAD} l JOIN {_CONTACT} b ON lower(b.email) = lower(l.email)
    WHERE l.parentcontactid IS NOT NULL AND l.email IS NOT NULL AND b.id <> l.parentcontactid""",
        ]
    )
    + "\n  ) pairs\n  GROUP BY a_id, b_id\n)"
)

FIND = f"WITH {FOUND}\nSELECT a_id, b_id, reasons FROM found ORDER BY a_id, b_id"

# The replacement: the CTEs see one snapshot; `gone` and `kept` touch disjoint rows.
REPLACE = f"""WITH {FOUND},
gone AS (
    DELETE FROM {_TABLE} d
    WHERE NOT EXISTS (SELECT FROM found f WHERE f.a_id = d.contact_a_id AND f.b_id = d.contact_b_id)
      AND (NOT d.dismissed
           OR NOT EXISTS (SELECT FROM {_CONTACT} x WHERE x.id = d.contact_a_id)
           OR NOT EXISTS (SELECT FROM {_CONTACT} y WHERE y.id = d.contact_b_id))
    RETURNING 1
),
kept AS (
    INSERT INTO {_TABLE} (contact_a_id, contact_b_id, reasons, found_at, dismissed)
    SELECT a_id, b_id, reasons, %(now)s, false FROM found
    ON CONFLICT (contact_a_id, contact_b_id) DO UPDATE SET reasons = EXCLUDED.reasons
        WHERE {_TABLE}.reasons <> EXCLUDED.reasons
    RETURNING (xmax = 0) AS inserted
)
SELECT (SELECT count(*) FROM found), (SELECT count(*) FROM kept WHERE inserted),
       (SELECT count(*) FROM gone)"""

# One run at a time (a second waits, then finds the same pairs).
_LOCK_KEY = 0x6475706A6F62  # "dupjob"


def _settings(cursor) -> None:
    """For this transaction: no JIT (compiling costs more than the statement saves); room for the
    group aggregates' hash tables."""
    cursor.execute("SELECT set_config('jit', 'off', true), set_config('work_mem', '256MB', true)")


def params(now, max_group: int, min_local: int) -> dict:
    return {"now": now, "max_group": max_group, "min_local": min_local}


def replace_candidates(now, *, max_group: int, min_local: int) -> dict:
    """Find every pair and replace the table's rows (one transaction): found, added, removed."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_LOCK_KEY])
        _settings(cursor)
        cursor.execute(REPLACE, params(now, max_group, min_local))
        found, added, removed = cursor.fetchone()
    return {"pairs": found, "added": added, "removed": removed}


def explain(statement: str, now, *, max_group: int, min_local: int) -> str:
    """EXPLAIN (ANALYZE, BUFFERS) of `statement` (FIND or REPLACE), rolled back (for bench/README.md)."""
    with transaction.atomic(), connection.cursor() as cursor:
        _settings(cursor)
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement, params(now, max_group, min_local))
        plan = "\n".join(row[0] for row in cursor.fetchall())
        transaction.set_rollback(True)
    return plan
