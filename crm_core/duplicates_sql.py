"""Likely duplicate contacts on PostgreSQL: one statement, each rule a UNION ALL branch driven by the
scanned contacts (crm_core/duplicates.py has the rules).

- `same_name_account`: a probe of the parent account's index per scanned contact;
- `lead_email`: the lead's `parentcontactid` index and `contact_email_ci_unique` on lower(email), or
  `lead_email_lower_idx` on lower(email) the other way round;
- `email_other_domain`, `email_similar`: when scanning, a hash join of the scanned contacts' keys (local
  part; email without dots, hyphens and underscores) with one sequential read of the contact table
  each: no index holds these keys, and a trigram-index probe per contact costs more than the read.
  For one contact's pairs, probes of the email's trigram index (`contact_email_trgm_idx`, migration
  0006): `UPPER(email) LIKE 'LOCAL@%'`, and `%` similarity rechecked by the rule.
"""

from __future__ import annotations

from django.db import connection, transaction

from .duplicates_rules import DuplicatePair
from .models import Contact, Lead

_CONTACT = Contact._meta.db_table
_LEAD = Lead._meta.db_table
# The one-contact query probes the trigram index for similar emails at this threshold, then rechecks.
EMAIL_SIMILARITY = 0.5
# At most this many matches per contact and email rule in the one-contact query.
CANDIDATES = 20
_SQUEEZED = "translate({t}.email, '.-_', '')"

# {anchors}: the contacts looked at; {other}: how b relates to a (b.id > a.id when scanning, b.id <> a.id
# for one contact's pairs); {email_rules}: the email branches (a hash join when scanning, index probes for
# one contact).
_PAIRS = f"""
WITH a AS MATERIALIZED (
    SELECT id, email, lower(first_name) AS fn, lower(last_name) AS ln, parent_account_id,
           split_part(email, '@', 1) AS local, {_SQUEEZED.format(t=_CONTACT)} AS squeezed
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
{{email_rules}}
)
"""

# Scanning: each email rule is one hash join of the scanned contacts with every contact's key (one
# sequential read of the contact table per rule, whatever the number of contacts scanned).
_EMAIL_HASHED = f"""    SELECT a.id, b.id, 'email_other_domain'
    FROM a JOIN {_CONTACT} b ON split_part(b.email, '@', 1) = a.local AND b.email <> a.email AND {{other}}
    WHERE length(a.local) >= 3
  UNION ALL
    SELECT a.id, b.id, 'email_similar'
    FROM a JOIN {_CONTACT} b ON {_SQUEEZED.format(t="b")} = a.squeezed AND b.email <> a.email AND {{other}}
    WHERE length(a.local) >= 3"""

# One contact: probes of the email's trigram index (`UPPER(email) LIKE 'LOCAL@%'`, and `%` similarity),
# rechecked by the rule.
_EMAIL_PROBED = f"""    SELECT a.id, b.id, 'email_other_domain'
    FROM a CROSS JOIN LATERAL (
        SELECT b.id FROM {_CONTACT} b
        WHERE UPPER(b.email) LIKE UPPER(
                replace(replace(replace(a.local, '\\', '\\\\'), '%%', '\\%%'), '_', '\\_')) || '@%%'
            AND b.email <> a.email AND {{other}}
        LIMIT {CANDIDATES}
    ) b
    WHERE length(a.local) >= 3
  UNION ALL
    SELECT a.id, b.id, 'email_similar'
    FROM a CROSS JOIN LATERAL (
        SELECT b.id FROM {_CONTACT} b
        WHERE UPPER(b.email) %% UPPER(a.email) AND {{other}}
            AND {_SQUEEZED.format(t="b")} = a.squeezed AND b.email <> a.email
        LIMIT {CANDIDATES}
    ) b
    WHERE length(a.local) >= 3"""

_SCAN = (
    _PAIRS.format(
        anchors="id BETWEEN %(lo)s AND %(hi)s", other="b.id > a.id", email_rules=_EMAIL_HASHED
    ).replace("{other}", "b.id > a.id")
    + """SELECT a_id, b_id, array_agg(DISTINCT reason ORDER BY reason) FROM pairs
WHERE (a_id, b_id) > (%(after_a)s, %(after_b)s)
GROUP BY a_id, b_id ORDER BY a_id, b_id LIMIT %(limit)s"""
)

_ONE = (
    _PAIRS.format(anchors="id = %(contact)s", other="b.id <> a.id", email_rules=_EMAIL_PROBED).replace(
        "{other}", "b.id <> a.id"
    )
    + """SELECT LEAST(a_id, b_id) AS x, GREATEST(a_id, b_id) AS y, array_agg(DISTINCT reason ORDER BY reason)
FROM pairs GROUP BY x, y ORDER BY x, y LIMIT %(limit)s"""
)


def _settings(cursor) -> None:
    """For this transaction: the trigram threshold; hash joins of the scanned contacts with the table
    (the planner, misjudging the CTE's size, would sort the whole table for a merge join); no JIT
    (compiling costs more than the statement saves)."""
    cursor.execute(
        "SELECT set_config('pg_trgm.similarity_threshold', %s, true),"
        " set_config('enable_mergejoin', 'off', true), set_config('jit', 'off', true)",
        [str(EMAIL_SIMILARITY)],
    )


def _run(sql: str, params: dict) -> list[DuplicatePair]:
    with transaction.atomic(), connection.cursor() as cursor:
        _settings(cursor)
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
        _settings(cursor)
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + _SCAN, params)
        return "\n".join(row[0] for row in cursor.fetchall())
