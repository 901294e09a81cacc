"""One contact's likely duplicates on PostgreSQL, probed live (crm_core/duplicates.py adds them to the
stored pairs of the duplicate detection job): one statement, each rule a UNION ALL branch.

- `same_name_account`: a probe of the parent account's index per scanned contact;
- `lead_email`: the lead's `parentcontactid` index and `contact_email_ci_unique` on lower(email), or
  `lead_email_lower_idx` on lower(email) the other way round;
- `email_other_domain`, `email_similar`: probes of the email's trigram index (`contact_email_trgm_idx`,
  migration 0006): `UPPER(email) LIKE 'LOCAL@%'`, and `%` similarity rechecked by the rule.
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

# {anchors}: the contact looked at; {other}: how b relates to a; {email_rules}: the email branches.
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

_ONE = (
    _PAIRS.format(anchors="id = %(contact)s", other="b.id <> a.id", email_rules=_EMAIL_PROBED).replace(
        "{other}", "b.id <> a.id"
    )
    + """SELECT LEAST(a_id, b_id) AS x, GREATEST(a_id, b_id) AS y, array_agg(DISTINCT reason ORDER BY reason)
FROM pairs GROUP BY x, y ORDER BY x, y LIMIT %(limit)s"""
)


def _settings(cursor) -> None:
    """For this transaction: the trigram threshold; no JIT (compiling costs more than the statement saves)."""
    cursor.execute(
        "SELECT set_config('pg_trgm.similarity_threshold', %s, true), set_config('jit', 'off', true)",
        [str(EMAIL_SIMILARITY)],
    )


def _run(sql: str, params: dict) -> list[DuplicatePair]:
    with transaction.atomic(), connection.cursor() as cursor:
        _settings(cursor)
        cursor.execute(sql, params)
        return [DuplicatePair(a, b, tuple(reasons)) for a, b, reasons in cursor.fetchall()]


def pairs_of_contact(contact_id: int, limit: int) -> list[DuplicatePair]:
    return _run(_ONE, {"contact": contact_id, "limit": limit})
