"""Segment refresh at scale: the compiler's full and incremental refresh against hand-written SQL.

On the shared data set (default 1,000,000 contacts, ~2M leads, ~10M interactions) it times, for
(a) the seed example "decision makers with a Contoso Ltd Conference lead" and (b) an any-group over
account industry and country AND no bulk-email opt-out AND an email click in the last 30 days:
a full refresh into the membership table, and an incremental refresh after 1% of the leads changed
topic; and the same work in hand-written SQL. Everything runs in one transaction that is rolled back.
"""

import argparse

from bench.common import ensure_dataset, report, timer
from segments.examples import BULK_EMAIL_ALLOWED, CLICKED_IN_LAST_30_DAYS, CONTOSO_DECISION_MAKERS

ENGAGED = {
    "entity": "contact",
    "match": "all",
    "conditions": [
        {
            "related": "account",
            "quantifier": "exists",
            "match": "any",
            "conditions": [
                {"field": "industry", "op": "eq", "value": "software"},
                {"field": "country", "op": "eq", "value": "Germany"},
            ],
        },
        BULK_EMAIL_ALLOWED,
        CLICKED_IN_LAST_30_DAYS,
    ],
}
HAND_SQL = {
    "seed example": """
        SELECT c.id FROM crm_core_contact c
        WHERE c.job_role = 'decision_maker'
          AND EXISTS (SELECT 1 FROM crm_core_lead l
                      WHERE l.parentcontactid = c.id AND upper(l.topic) = upper('Contoso Ltd Conference'))""",
    "engaged": """
        SELECT c.id FROM crm_core_contact c
        WHERE EXISTS (SELECT 1 FROM crm_core_account a
                      WHERE a.id = c.parent_account_id
                        AND (a.industry = 'software' OR upper(a.country) = upper('Germany')))
          AND NOT c.do_not_bulk_email
          AND EXISTS (SELECT 1 FROM crm_core_interaction i
                      WHERE i.contact_id = c.id AND i.kind = 'email_click'
                        AND i.occurred_at >= now() - interval '30 days' AND i.occurred_at <= now())""",
}


def hand_refresh(cursor, segment_id: int, select_sql: str) -> tuple[int, int]:
    cursor.execute(
        f"""INSERT INTO segments_segmentmembership (segment_id, contact_id, added_at)
            SELECT %s, m.id, now() FROM ({select_sql}) m
            ON CONFLICT (segment_id, contact_id) DO NOTHING""",
        [segment_id],
    )
    added = cursor.rowcount
    cursor.execute(
        f"""DELETE FROM segments_segmentmembership sm
            WHERE sm.segment_id = %s AND sm.contact_id NOT IN ({select_sql})""",
        [segment_id],
    )
    return added, cursor.rowcount


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench segments", description=__doc__)
    parser.add_argument("--contacts", type=int, default=1_000_000)
    args = parser.parse_args(argv)
    ensure_dataset(args.contacts)

    from django.db import connection, transaction

    from segments.compiler import contacts_queryset
    from segments.models import Segment
    from segments.services import segment_refresh

    rows = []
    with transaction.atomic():
        with connection.cursor() as cursor:
            for name, definition in (("seed example", CONTOSO_DECISION_MAKERS), ("engaged", ENGAGED)):
                contacts_queryset(definition).count()  # warm the cache, so neither side pays for it
                ours = Segment.objects.create(name=f"bench {name}", definition=definition)
                hand = Segment.objects.create(name=f"bench {name} (SQL)", definition=definition)
                with timer() as t_full:
                    full = segment_refresh(segment_id=ours.pk)
                with timer() as t_hand_full:
                    hand_full = hand_refresh(cursor, hand.pk, HAND_SQL[name])
                assert full.added == hand_full[0], (full.added, hand_full)
                # 1% of the leads change topic (every 100th lead toggles to or from the Contoso topic).
                cursor.execute(
                    """UPDATE crm_core_lead SET topic = CASE WHEN topic = 'Contoso Ltd Conference'
                       THEN 'Data Platform Demo' ELSE 'Contoso Ltd Conference' END WHERE id % 100 = 7"""
                )
                changed = cursor.rowcount
                with timer() as t_incr:
                    incremental = segment_refresh(segment_id=ours.pk)
                with timer() as t_hand_incr:
                    hand_incremental = hand_refresh(cursor, hand.pk, HAND_SQL[name])
                assert (incremental.added, incremental.removed) == hand_incremental
                rows += [
                    (f"({name}) members", f"{full.added:,}"),
                    (f"({name}) full refresh", f"{t_full():.2f}s  hand SQL {t_hand_full():.2f}s  "
                     f"ratio {t_full() / t_hand_full():.2f}"),
                    (f"({name}) incremental after {changed:,} lead topic changes",
                     f"{t_incr():.2f}s (+{incremental.added:,} -{incremental.removed:,})  hand SQL "
                     f"{t_hand_incr():.2f}s  ratio {t_incr() / t_hand_incr():.2f}"),
                ]  # fmt: skip
        transaction.set_rollback(True)
    report(f"segments on {args.contacts:,} contacts (rolled back)", rows)
    return 0
