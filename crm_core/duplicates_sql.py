"""Likely duplicate contacts on PostgreSQL: one statement, each rule a UNION ALL branch driven by the
scanned contacts, every branch an index probe per contact (crm_core/duplicates.py has the rules).

- `same_name_account`: the parent account's index (`crm_core_contact_parent_account_id_*`);
- `lead_email`: the lead's `parentcontactid` index and `contact_email_ci_unique` on lower(email), or
  `lead_email_lower_idx` on lower(email) the other way round;
- `email_other_domain`: `UPPER(email) LIKE 'LOCAL@%'` on the email's trigram index
  (`contact_email_trgm_idx`, migration 0006);
- `email_similar`: `UPPER(email) % UPPER(a.email)` on the same trigram index, at a similarity
  threshold of 0.6 set for the statement's transaction, rechecked on the local parts (0.4),
  which must differ in more than digits (contact12 / contact13 are two people).
"""

from __future__ import annotations

from django.db import connection, transaction

from .duplicates_rules import DuplicatePair
from .models import Contact, Lead

_CONTACT = Contact._meta.db_table
_LEAD = Lead._meta.db_table
EMAIL_SIMILARITY = 0.6
LOCAL_SIMILARITY = 0.4

# {anchors}: the scanned contacts; {other}: how b relates to a (b.id > a.id when scanning, b.id <> a.id
# for one contact's pairs).
_PAIRS = f"""
WITH a AS MATERIALIZED (
    SELECT id, email, lower(first_name) AS fn, lower(last_name) AS ln, parent_account_id,
           split_part(email, '@', 1) AS local, split_part(email, '@', 2) AS domain
    FROM {_CONTACT} WHERE {{anchors}}
), pairs AS (
    SELECT a.id AS a_id, b.id AS b_id, 'same_name_account' AS reason
    FROM a JOIN {_CONTACT} b ON b.parent_account_id = a.parent_account_id AND {{other}}
        AND lower(b.first_name) = a.fn AND lower(b.last_name) = a.ln
    WHERE a.parent_account_id IS NOT NULL AND (a.fn <> '' OR a.ln <> '')
  UNION ALL
    SELECT a.id, b.id, 'lead_email'
    FROM a JOIN {_LEAD} l ON l.parentcontactid = a.id
    JOIN {_CONTACT} b ON lower(b.email) = lower(l.email) AND {{other}}
  UNION ALL
    SELECT a.id, b.id, 'lead_email'
    FROM a JOIN {_LEAD} l ON lower(l.email) = lower(a.email)
    JOIN {_CONTACT} b ON b.id = l.parentcontactid AND {{other}}
  UNION ALL
    SELECT a.id, b.id, 'email_other_domain'
    FROM a JOIN {_CONTACT} b ON UPPER(b.email) LIKE UPPER(
            replace(replace(replace(a.local, '\\', '\\\\'), '%%', '\\%%'), '_', '\\_')) || '@%%'
        AND b.email <> a.email AND {{other}}
    WHERE length(a.local) >= 3
  UNION ALL
    SELECT a.id, b.id, 'email_similar'
    FROM a JOIN {_CONTACT} b ON UPPER(b.email) %% UPPER(a.email) AND {{other}}
        AND split_part(b.email, '@', 2) = a.domain AND b.email <> a.email
        AND similarity(split_part(b.email, '@', 1), a.local) >= {LOCAL_SIMILARITY}
        AND translate(split_part(b.email, '@', 1), '0123456789', '') <> translate(a.local, '0123456789', '')
    WHERE a.email IS NOT NULL
)
"""

_SCAN = (
    _PAIRS.format(anchors="id BETWEEN %(lo)s AND %(hi)s", other="b.id > a.id")
    + """SELECT a_id, b_id, array_agg(DISTINCT reason ORDER BY reason) FROM pairs
WHERE (a_id, b_id) > (%(after_a)s, %(after_b)s)
GROUP BY a_id, b_id ORDER BY a_id, b_id LIMIT %(limit)s"""
)

_ONE = (
    _PAIRS.format(anchors="id = %(contact)s", other="b.id <> a.id")
    + """SELECT LEAST(a_id, b_id) AS x, GREATEST(a_id, b_id) AS y, array_agg(DISTINCT reason ORDER BY reason)
FROM pairs GROUP BY x, y ORDER BY x, y LIMIT %(limit)s"""
)


def _run(sql: str, params: dict) -> list[DuplicatePair]:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT set_config('pg_trgm.similarity_threshold', %s, true)", [str(EMAIL_SIMILARITY)])
        cursor.execute(sql, params)
        return [DuplicatePair(a, b, tuple(reasons)) for a, b, reasons in cursor.fetchall()]


def pairs_between(after: tuple[int, int], hi: int, limit: int) -> list[DuplicatePair]:
    params = {"lo": after[0], "hi": hi, "after_a": after[0], "after_b": after[1], "limit": limit}
    return _run(_SCAN, params)


def pairs_of_contact(contact_id: int, limit: int) -> list[DuplicatePair]:
    return _run(_ONE, {"contact": contact_id, "limit": limit})


def explain_scan(after: tuple[int, int], hi: int, limit: int) -> str:
    """EXPLAIN (ANALYZE, BUFFERS) of one page's statement (for bench/README.md)."""
    params = {"lo": after[0], "hi": hi, "after_a": after[0], "after_b": after[1], "limit": limit}
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT set_config('pg_trgm.similarity_threshold', %s, true)", [str(EMAIL_SIMILARITY)])
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + _SCAN, params)
        return "\n".join(row[0] for row in cursor.fetchall())
