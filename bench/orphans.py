"""Times the orphan-lead backfill (lead_link_orphans) against the same job as hand-written SQL.

Both run on the same data: each inside a transaction that is rolled back, so the data set
stays as found. The hand-written SQL is the job in three plain statements over all orphans at
once (no batches, no locks); the service does it in batches of `--batch-size` leads, each in
its own transaction with its leads locked; the floor is pg-floor's Q5a and Q5b on our tables (one
contact per distinct email, nothing copied from the lead; then the link by email). The service and
the hand-written SQL must give identical contacts; all three the same links (lead -> the existing
contact, or a new contact with that email).
"""

from __future__ import annotations

import argparse

from bench.common import ensure_dataset, report, server_settings, timer

CONTACT_COLUMNS = (
    "first_name, last_name, email, phone, job_title, job_role, country, city, parent_account_id, owner_id, "
    "marketing_only, origin, do_not_bulk_email, do_not_email, allow_prefill, track_email, consent_level, "
    "is_minor, guardian_id, guardian_consent, created_at, updated_at"
)
CONTACT_FROM_LEAD = (
    "l.first_name, l.last_name, {email}, '', l.job_title, l.job_role, '', '', "
    "l.parent_account_id, l.owner_id, true, 'orphan_lead_workflow', "
    "false, false, false, true, 0, false, NULL, false, now(), now()"
)

HAND_WRITTEN_SQL = [
    # 1. one contact per email that no contact has yet
    f"""
    INSERT INTO crm_core_contact ({CONTACT_COLUMNS})
    SELECT DISTINCT ON (lower(btrim(l.email))) {CONTACT_FROM_LEAD.format(email="lower(btrim(l.email))")}
    FROM crm_core_lead l
    WHERE l.parentcontactid IS NULL AND NULLIF(btrim(l.email), '') IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM crm_core_contact c WHERE lower(c.email) = lower(btrim(l.email)))
    ORDER BY lower(btrim(l.email)), (l.parent_account_id IS NULL), l.id
    ON CONFLICT ((lower(email))) DO NOTHING
    """,
    # 2. link every orphan with an email to the contact with that email
    """
    UPDATE crm_core_lead l SET parentcontactid = c.id, updated_at = now()
    FROM crm_core_contact c
    WHERE l.parentcontactid IS NULL AND lower(c.email) = lower(btrim(l.email))
    """,
    # 3. a contact for each orphan without an email, linked
    f"""
    WITH src AS MATERIALIZED (
        SELECT l.*, nextval(pg_get_serial_sequence('crm_core_contact', 'id')) AS new_contact_id
        FROM crm_core_lead l
        WHERE l.parentcontactid IS NULL AND NULLIF(btrim(l.email), '') IS NULL
    ), made AS (
        INSERT INTO crm_core_contact (id, {CONTACT_COLUMNS})
        SELECT l.new_contact_id, {CONTACT_FROM_LEAD.format(email="NULL")} FROM src l
    )
    UPDATE crm_core_lead l SET parentcontactid = src.new_contact_id, updated_at = now()
    FROM src WHERE l.id = src.id
    """,
]

# pg-floor's Q5a / Q5b (q5_create_contacts.sql, q5_link_leads.sql) on our tables: one contact per
# distinct email with nothing copied from the lead, then the link by email. The floor's data has no
# orphan without an email; ours has, so the floor ends with the hand-written SQL's third statement.
FLOOR_SQL = [
    f"""
    INSERT INTO crm_core_contact ({CONTACT_COLUMNS})
    SELECT {
        CONTACT_FROM_LEAD.format(email="d.email")
        .replace("l.first_name, l.last_name", "'', ''")
        .replace("l.job_title, l.job_role", "'', ''")
        .replace("l.parent_account_id, l.owner_id", "NULL, NULL")
    }
    FROM (SELECT DISTINCT lower(btrim(l.email)) AS email FROM crm_core_lead l
          WHERE l.parentcontactid IS NULL AND NULLIF(btrim(l.email), '') IS NOT NULL) d
    ON CONFLICT ((lower(email))) DO NOTHING
    """,
    """
    UPDATE crm_core_lead l SET parentcontactid = c.id
    FROM crm_core_contact c
    WHERE l.parentcontactid IS NULL AND lower(c.email) = lower(btrim(l.email))
    """,
    HAND_WRITTEN_SQL[2],
]
SIDES = ("service", "hand SQL", "floor")

# What the job produced, independent of ids: per former orphan, the contact it got.
OUTCOME_SQL = """
SELECT count(*) FILTER (WHERE c.id IS NULL),
       count(DISTINCT c.id) FILTER (WHERE c.id > %(max)s),
       count(DISTINCT c.id) FILTER (WHERE c.id <= %(max)s),
       md5(string_agg(
           concat_ws('|', l.id, CASE WHEN c.id <= %(max)s THEN c.id::text ELSE 'new' END, lower(c.email)),
           ',' ORDER BY l.id)),
       md5(string_agg(
           concat_ws('|', l.id, CASE WHEN c.id <= %(max)s THEN c.id::text ELSE 'new' END, c.email,
                     c.first_name, c.last_name, c.job_title, c.parent_account_id, c.marketing_only, c.origin),
           ',' ORDER BY l.id))
FROM crm_core_lead l LEFT JOIN crm_core_contact c ON c.id = l.parentcontactid
WHERE l.id = ANY(%(ids)s)
"""


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench orphans", description=__doc__)
    parser.add_argument("--contacts", type=int, default=1_000_000, help="data-set size (default 1,000,000)")
    parser.add_argument("--batch-size", type=int, default=None, help="service batch size (default: its own)")
    parser.add_argument("--rounds", type=int, default=3, help="runs of each side, rotating the order")
    args = parser.parse_args(argv)

    ensure_dataset(args.contacts, rows_only=True)  # orphans still unlinked
    from crm_core.services import ORPHAN_LINK_BATCH_SIZE

    batch_size = args.batch_size or ORPHAN_LINK_BATCH_SIZE
    orphan_ids, shape, max_contact = _orphans()
    if not orphan_ids:
        print("The data set has no orphan leads (was a backfill committed to it?); nothing to time.")
        return 1
    times, outcomes = _run_rounds(args.rounds, batch_size, orphan_ids, max_contact)
    links = {outcome[3] for outcome in outcomes.values()}
    full = {outcomes[side][4] for side in ("service", "hand SQL")}
    still_orphans, created, matched = outcomes["service"][:3]
    best = {side: min(values) for side, values in times.items()}
    report(
        f"orphan-lead backfill on {args.contacts:,} contacts",
        [
            *shape,
            ("contacts created / matched (service)", f"{created:,} / {matched:,}"),
            ("orphans left", f"{still_orphans:,}"),
            ("same links, all three sides", "yes" if len(links) == 1 else "NO"),
            ("same contacts, service and hand SQL", "yes" if len(full) == 1 else "NO"),
            *[(_side_label(side, batch_size), ", ".join(f"{t:.2f}s" for t in times[side])) for side in SIDES],
            ("leads/s (service)", f"{len(orphan_ids) / best['service']:,.0f}"),
            ("service / hand SQL", f"{best['service'] / best['hand SQL']:.2f}"),
            ("service / floor (goal <= 1.5)", f"{best['service'] / best['floor']:.2f}"),
            *server_settings(),
        ],
    )
    print("  (best of each; every run in a transaction rolled back; the order of the sides rotates)")
    return 0 if len(links) == 1 and len(full) == 1 and still_orphans == 0 else 1


def _side_label(side: str, batch_size: int) -> str:
    return {
        "service": f"service (batches of {batch_size:,})",
        "hand SQL": "hand-written SQL (3 statements)",
        "floor": "floor (pg-floor Q5a, Q5b, + no-email)",
    }[side]


def _orphans() -> tuple[list[int], list[tuple[str, str]], int]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT id FROM crm_core_lead WHERE parentcontactid IS NULL ORDER BY id")
        orphan_ids = [row[0] for row in cursor.fetchall()]
        cursor.execute(
            "SELECT count(DISTINCT lower(btrim(email))),"
            " count(*) FILTER (WHERE NULLIF(btrim(email), '') IS NULL),"
            " count(*) FILTER (WHERE EXISTS (SELECT 1 FROM crm_core_contact c"
            " WHERE lower(c.email) = lower(btrim(crm_core_lead.email))))"
            " FROM crm_core_lead WHERE parentcontactid IS NULL"
        )
        distinct_emails, without_email, matching = cursor.fetchone()
        cursor.execute("SELECT max(id) FROM crm_core_contact")
        max_contact = cursor.fetchone()[0] or 0
    shape = [
        ("orphan leads", f"{len(orphan_ids):,}"),
        ("  distinct emails / without email", f"{distinct_emails:,} / {without_email:,}"),
        ("  with an existing contact's email", f"{matching:,}"),
    ]
    return orphan_ids, shape, max_contact


def _run_rounds(rounds: int, batch_size: int, orphan_ids: list[int], max_contact: int):
    """Each side `rounds` times, the order rotating; returns ({side: [seconds]}, {side: outcome})."""
    from django.db import connection, transaction

    from crm_core.services import lead_link_orphans

    def statements(sql_list):
        with connection.cursor() as cursor:
            for statement in sql_list:
                cursor.execute(statement)

    jobs = {
        "service": lambda: lead_link_orphans(batch_size=batch_size),
        "hand SQL": lambda: statements(HAND_WRITTEN_SQL),
        "floor": lambda: statements(FLOOR_SQL),
    }
    times: dict[str, list[float]] = {side: [] for side in SIDES}
    outcomes: dict[str, tuple] = {}
    for round_number in range(rounds):
        shift = round_number % len(SIDES)
        for side in SIDES[shift:] + SIDES[:shift]:
            with transaction.atomic():
                with timer() as elapsed:
                    jobs[side]()
                times[side].append(elapsed())
                with connection.cursor() as cursor:
                    cursor.execute(OUTCOME_SQL, {"max": max_contact, "ids": orphan_ids})
                    outcome = cursor.fetchone()
                transaction.set_rollback(True)
            if outcomes.setdefault(side, outcome) != outcome:
                raise AssertionError(f"{side} gave a different result in round {round_number + 1}")
    return times, outcomes
