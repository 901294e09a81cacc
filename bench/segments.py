"""Segment refresh at scale: the service's refresh against hand-written SQL and the floor statement.

On the shared data set (default 1,000,000 contacts, ~2M leads, ~10M interactions) it times, for
(a) the seed example "decision makers with a Contoso Ltd Conference lead" and (b) an any-group over
account industry and country AND no bulk-email opt-out AND an email click in the last 30 days:
a full refresh into the membership table, and a refresh after 1% of the leads changed topic. Three
sides do the same work into three segments: the service (`segment_refresh`), the hand-written SQL
(an INSERT ... ON CONFLICT and a DELETE ... NOT IN) and the floor (the one-statement diff of
/work/shared/reference/pg-floor/q3_combined.sql on our tables). The order of the sides rotates from
one measurement to the next, and after each step the three member SETS must be equal. Each step
runs `--rounds` times (fresh segments each round) and the median is compared. Everything runs in
one transaction that is rolled back.
"""

import argparse
import statistics

from bench.common import ensure_dataset, report, server_settings, timer
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
                        AND i.occurred_at >= NOW - interval '30 days' AND i.occurred_at <= NOW)""",
}
SIDES = ("service", "hand SQL", "floor")


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


def floor_refresh(cursor, segment_id: int, select_sql: str) -> tuple[int, int]:
    """pg-floor's q3_combined.sql on our tables: the target once, adds and removes in one statement."""
    cursor.execute(
        f"""WITH target AS MATERIALIZED ({select_sql}),
            ins AS (
                INSERT INTO segments_segmentmembership (segment_id, contact_id, added_at)
                SELECT %s, t.id, now() FROM target t
                ON CONFLICT (segment_id, contact_id) DO NOTHING
                RETURNING contact_id
            ), del AS (
                DELETE FROM segments_segmentmembership sm
                WHERE sm.segment_id = %s
                  AND NOT EXISTS (SELECT 1 FROM target t WHERE t.id = sm.contact_id)
                RETURNING contact_id
            )
            SELECT (SELECT count(*) FROM ins), (SELECT count(*) FROM del)""",
        [segment_id, segment_id],
    )
    return tuple(cursor.fetchone())


def members(segment_id: int) -> frozenset[int]:
    from segments.models import SegmentMembership

    return frozenset(
        SegmentMembership.objects.filter(segment_id=segment_id).values_list("contact_id", flat=True)
    )


def run_sides(cursor, order: list[str], segments: dict, select_sql: str) -> dict[str, tuple[float, tuple]]:
    """Each side refreshes its own segment, in `order`; returns {side: (seconds, (added, removed))}.

    The hand-written sides read the clock the service's compiler reads (`NOW` in the SQL), so a
    30-day window has the same bounds on every side (now() would be the transaction's start).
    """
    from django.utils import timezone

    from segments.services import segment_refresh

    select_sql = select_sql.replace("NOW", f"'{timezone.now().isoformat()}'::timestamptz")
    done = {}
    for side in order:
        with timer() as elapsed:
            if side == "service":
                result = segment_refresh(segment_id=segments[side])
                counts = (result.added, result.removed)
            elif side == "hand SQL":
                counts = hand_refresh(cursor, segments[side], select_sql)
            else:
                counts = floor_refresh(cursor, segments[side], select_sql)
        done[side] = (elapsed(), counts)
    sets = {side: members(segments[side]) for side in SIDES}
    if len(set(sets.values())) != 1:
        sizes = {side: len(found) for side, found in sets.items()}
        raise AssertionError(f"member sets differ: {sizes}")
    return done


def timings(runs: list[dict]) -> str:
    """Median (and best) seconds per side over the rounds, and the service's median over the floor's."""
    medians = {side: statistics.median(run[side][0] for run in runs) for side in SIDES}
    best = {side: min(run[side][0] for run in runs) for side in SIDES}
    sides = "  ".join(f"{side} {medians[side]:.3f}s (best {best[side]:.3f})" for side in SIDES)
    return f"{sides}  service/floor {medians['service'] / medians['floor']:.2f}"


def rotated(rotation: int) -> list[str]:
    return list(SIDES[rotation % 3 :] + SIDES[: rotation % 3])


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench segments", description=__doc__)
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3, help="measurements per side and step (median shown)")
    args = parser.parse_args(argv)
    ensure_dataset(args.contacts)

    from django.db import connection, transaction

    from segments.compiler import contacts_queryset
    from segments.models import Segment

    rows = []
    rotation = 0
    with transaction.atomic():
        with connection.cursor() as cursor:
            for name, definition in (("seed example", CONTOSO_DECISION_MAKERS), ("engaged", ENGAGED)):
                contacts_queryset(definition).count()  # warm the cache, so no side pays for it alone
                full, incremental, sizes, changes = [], [], set(), []
                for round_ in range(args.rounds):
                    # Fresh, empty segments each round: a full refresh is a definition's first fill.
                    segments = {
                        side: Segment.objects.create(
                            name=f"bench {name} ({side}) {round_}", definition=definition
                        ).pk
                        for side in SIDES
                    }
                    full.append(run_sides(cursor, rotated(rotation), segments, HAND_SQL[name]))
                    rotation += 1
                    # What the service does after a full refresh commits that moved many rows
                    # (refresh.ANALYZE_AFTER_ROWS): fresh statistics of the membership table, here
                    # inside the bench's transaction so the diff after the change is planned on them.
                    cursor.execute("ANALYZE segments_segmentmembership")
                    # 1% of the leads change topic (every 100th lead toggles to or from the Contoso
                    # topic; the next round toggles them back).
                    cursor.execute(
                        """UPDATE crm_core_lead SET topic = CASE WHEN topic = 'Contoso Ltd Conference'
                           THEN 'Data Platform Demo' ELSE 'Contoso Ltd Conference' END WHERE id % 100 = 7"""
                    )
                    changed = cursor.rowcount
                    incremental.append(run_sides(cursor, rotated(rotation), segments, HAND_SQL[name]))
                    rotation += 1
                    sizes.add(len(members(segments["service"])))
                    changes.append("+{:,} -{:,}".format(*incremental[-1]["service"][1]))
                member_counts = ", ".join(f"{n:,}" for n in sorted(sizes))
                rows += [
                    (f"({name}) members", f"{member_counts} (the 3 sides' sets equal)"),
                    (f"({name}) full refresh, {args.rounds} rounds", timings(full)),
                    (
                        f"({name}) after {changed:,} lead topic changes ({', '.join(changes)})",
                        timings(incremental),
                    ),
                ]
        transaction.set_rollback(True)
    report(
        f"segments on {args.contacts:,} contacts (rolled back; sides in rotating order)",
        [*rows, *server_settings()],
    )
    return 0
