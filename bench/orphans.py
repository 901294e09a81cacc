"""Times the orphan-lead backfill (lead_link_orphans) against the same job as hand-written SQL.

Both run on the same data: each inside a transaction that is rolled back, so the data set
stays as found. The hand-written SQL is the job in three plain statements over all orphans at
once (no batches, no locks); the service does it in batches of `--batch-size` leads, each in
its own transaction with its leads locked. Both results are checked to be identical.
"""

from __future__ import annotations

import argparse

from bench.common import ensure_dataset, report, timer

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

# What the job produced, independent of ids: per former orphan, the contact it got.
OUTCOME_SQL = """
SELECT count(*) FILTER (WHERE c.id IS NULL),
       count(DISTINCT c.id) FILTER (WHERE c.id > %s),
       count(DISTINCT c.id) FILTER (WHERE c.id <= %s),
       md5(string_agg(
           concat_ws('|', l.id, CASE WHEN c.id <= %s THEN c.id::text ELSE 'new' END, c.email, c.first_name,
                     c.last_name, c.job_title, c.parent_account_id, c.marketing_only, c.origin),
           ',' ORDER BY l.id))
FROM crm_core_lead l LEFT JOIN crm_core_contact c ON c.id = l.parentcontactid
WHERE l.id = ANY(%s)
"""


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench orphans", description=__doc__)
    parser.add_argument("--contacts", type=int, default=1_000_000, help="data-set size (default 1,000,000)")
    parser.add_argument("--batch-size", type=int, default=None, help="service batch size (default: its own)")
    parser.add_argument("--rounds", type=int, default=1, help="runs of each, alternating (best is kept)")
    args = parser.parse_args(argv)

    ensure_dataset(args.contacts, rows_only=True)  # orphans still unlinked
    from django.db import connection, transaction

    from crm_core.services import ORPHAN_LINK_BATCH_SIZE, lead_link_orphans

    batch_size = args.batch_size or ORPHAN_LINK_BATCH_SIZE
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
    if not orphan_ids:
        print("The data set has no orphan leads (was a backfill committed to it?); nothing to time.")
        return 1

    def service_run():
        return lead_link_orphans(batch_size=batch_size)

    def sql_run():
        with connection.cursor() as cursor:
            for statement in HAND_WRITTEN_SQL:
                cursor.execute(statement)

    def timed(job) -> tuple[float, tuple]:
        with transaction.atomic():
            with timer() as elapsed:
                job()
            seconds = elapsed()
            with connection.cursor() as cursor:
                cursor.execute(OUTCOME_SQL, [max_contact, max_contact, max_contact, orphan_ids])
                outcome = cursor.fetchone()
            transaction.set_rollback(True)
        return seconds, outcome

    service_times, sql_times, outcomes = [], [], set()
    for round_number in range(args.rounds):
        # Alternate which goes first, so neither always pays for a cold cache.
        runs = [(service_run, service_times), (sql_run, sql_times)]
        for job, times in runs if round_number % 2 == 0 else reversed(runs):
            seconds, outcome = timed(job)
            times.append(seconds)
            outcomes.add(outcome)

    service_best, sql_best = min(service_times), min(sql_times)
    still_orphans, created, matched, _ = next(iter(outcomes))
    report(
        f"orphan-lead backfill on {args.contacts:,} contacts",
        [
            ("orphan leads", f"{len(orphan_ids):,}"),
            ("  distinct emails / without email", f"{distinct_emails:,} / {without_email:,}"),
            ("  with an existing contact's email", f"{matching:,}"),
            ("contacts created / matched", f"{created:,} / {matched:,}"),
            ("orphans left", f"{still_orphans:,}"),
            ("same result both ways", "yes" if len(outcomes) == 1 else f"NO ({len(outcomes)} outcomes)"),
            (f"service (batches of {batch_size:,})", ", ".join(f"{t:.2f}s" for t in service_times)),
            ("hand-written SQL (3 statements)", ", ".join(f"{t:.2f}s" for t in sql_times)),
            ("leads/s (service)", f"{len(orphan_ids) / service_best:,.0f}"),
            ("ratio service / SQL (goal <= 1.5)", f"{service_best / sql_best:.2f}"),
        ],
    )
    print("  (each run in a transaction rolled back; the machine is shared, so figures are noisy)")
    return 0 if len(outcomes) == 1 and still_orphans == 0 else 1
