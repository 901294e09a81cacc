"""Times lead scoring: full and no-op recompute against hand-written SQL and the pg-floor, and incremental.

A model with 6 rules (5 interaction rules, one a capped one, and a rule on the contact's job role)
and a 90-day window. Everything runs in ONE transaction that is rolled back, so the shared data set
stays exactly as found (with `--migrate`, leadscoring's migrations this checkout has and the data set
lacks are applied inside it, PostgreSQL DDL being transactional). Before it, the tables it writes
are vacuumed (their dead rows only).

Three sides, each with a model of its own (non-primary, so lead rows are untouched), printed as three
columns: the project (`scoring_model_recompute`), the project's own SQL (the same scores hand-written,
bench/_scoring_sql.py) and the floor (pg-floor's Q4 / Q4b adapted to this schema, on the same data).

1. full: every side starts from the same state, a score row per lead with score 0 (reset untimed
   before each round), and recomputes; the order of the sides alternates from round to round;
2. no-op: each side again right after, with nothing changed (Q4b for the floor): it should write
   nothing (the rows written are counted from pg_stat_xact_user_tables);
3. the score sets (lead id -> score, grade, sales_ready) of the project and its SQL are compared;
4. incremental: 10,000 new interactions for random contacts, then the coalesced path of
   `interactions_recorded`: the contact ids in the Redis set, drained in batches (`pending_contacts_drain`),
   which rescores them under every live model (the data set's own primary model too).
"""

from __future__ import annotations

import argparse
import random
import statistics

from bench import _scoring_sql as sql
from bench.common import (
    database_url,
    dataset_ready,
    ensure_dataset,
    report,
    server_settings,
    setup_django,
    timer,
)

RULES = [
    # name, kind, filters, points, max_count
    ("Email opens", "email_open", {}, 2, 10),
    ("Email clicks", "email_click", {}, 5, None),
    ("Pricing page", "page_visit", {"url_contains": "/pricing"}, 10, None),
    ("Form submitted", "form_submit", {}, 25, None),
    ("Download", "download", {}, 15, None),
]
CONDITION_RULE = (
    "Decision maker",
    {
        "match": "all",
        "conditions": [
            {
                "related": "parent_contact",
                "quantifier": "exists",
                "conditions": [{"field": "job_role", "op": "eq", "value": "decision_maker"}],
            }
        ],
    },
    30,
)
WINDOW_DAYS = 90
SIDES = ("project", "project SQL", "floor")


class Rollback(Exception):
    pass


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench scoring", description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=20011, help="data set size (1000000: the shared set)")
    parser.add_argument("--new-interactions", type=int, default=10_000)
    parser.add_argument(
        "--migrate",
        action="store_true",
        help="apply leadscoring's missing migrations (rolled back; see _schema)",
    )
    parser.add_argument(
        "--rounds", type=int, default=2, help="full + no-op rounds, the sides' order alternating"
    )
    args = parser.parse_args(argv)

    url = database_url(str(args.contacts))
    if args.contacts >= 1_000_000 or dataset_ready(url):
        if not dataset_ready(url):
            print(f"the data set at {url} is not ready")
            return 1
        setup_django(url)  # no migrate: the shared data set stays as found
    else:
        ensure_dataset(args.contacts)

    from django.conf import settings
    from django.db import transaction
    from django.utils import timezone

    if not settings.REDIS_URL:
        print("set REDIS_URL: the incremental path drains a Redis set")
        return 1
    rows = _vacuumed()
    now = timezone.now()
    try:
        with transaction.atomic():
            rows += [*_data_set_size(), *_schema(migrate=args.migrate), *server_settings()]
            models = {side: _make_model(f"bench: {side}", live=side == "project") for side in SIDES}
            timings = _rounds(models, now, args.rounds)
            rows += _compared(models)
            rows += _incremental(models["project"], now, args.new_interactions)
            raise Rollback
    except Rollback:
        pass
    report(
        f"lead scoring on {args.contacts:,} contacts (rolled back; shared machine: figures are noisy)", rows
    )
    _print_table(timings, args.rounds)
    return 0


def _vacuumed() -> list[tuple[str, str]]:
    """VACUUM (ANALYZE) the tables this benchmark writes, before its transaction: what a rolled-back run
    wrote stays behind as dead rows, and with autovacuum off (as on the shared server) they pile up
    (11M dead rows, 827 MB, in the 100,000-contact set's score table), so every scan read them."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('autovacuum')")
        autovacuum = cursor.fetchone()[0]
        for table in sql.WRITTEN_TABLES:
            cursor.execute(f"VACUUM (ANALYZE) {table}")
        cursor.execute("SELECT pg_size_pretty(pg_table_size('leadscoring_leadscore'))")
        size = cursor.fetchone()[0]
    return [
        ("vacuumed first", f"{', '.join(sql.WRITTEN_TABLES)} (autovacuum={autovacuum}; score table {size})")
    ]


def _data_set_size() -> list[tuple[str, str]]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM crm_core_lead")
        leads = cursor.fetchone()[0]
        cursor.execute("SELECT count(*) FROM crm_core_interaction")
        interactions = cursor.fetchone()[0]
    return [("leads", f"{leads:,}"), ("interactions", f"{interactions:,}")]


def _schema(*, migrate: bool) -> list[tuple[str, str]]:
    """The score table's indexes, and leadscoring's migrations the data set lacks: applied inside the
    rolled-back transaction with `migrate` (so the table has the indexes this checkout is written
    for), else only named. Applying them takes the score table exclusively until the run ends, so
    other sessions using it wait meanwhile (and the run gives up if it cannot have it within 10 s)."""
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    targets = [key for key in executor.loader.graph.leaf_nodes() if key[0] == "leadscoring"]
    plan = executor.migration_plan(targets)
    missing = ", ".join(f"{migration.app_label}.{migration.name}" for migration, _ in plan) or "none"
    if plan and migrate:
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL lock_timeout = '10s'")
            executor.migrate(targets, plan=plan)
            cursor.execute("SET LOCAL lock_timeout = 0")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname FROM pg_indexes WHERE tablename = 'leadscoring_leadscore' ORDER BY 1"
        )
        indexes = [name for (name,) in cursor.fetchall()]
    state = "applied (rolled back)" if migrate else "NOT applied (--migrate applies them)"
    return [
        ("leadscoring migrations missing", missing if not plan else f"{missing}: {state}"),
        ("score table indexes", ", ".join(indexes)),
    ]


def _make_model(name: str, *, live: bool):
    from leadscoring.models import GradeBand, ScoringModel, ScoringRule

    model = ScoringModel.objects.create(
        name=name,
        status="live" if live else "draft",  # only the project's model is rescored incrementally
        sales_ready_threshold=100,
        decay_mode="window",
        decay_days=WINDOW_DAYS,
    )
    for rule_name, kind, filters, points, cap in RULES:
        ScoringRule.objects.create(
            model=model, name=rule_name, interaction_kind=kind, points=points, max_count=cap, **filters
        )
    ScoringRule.objects.create(
        model=model, name=CONDITION_RULE[0], condition=CONDITION_RULE[1], points=CONDITION_RULE[2]
    )
    for grade, low, high in (("A", 150, None), ("B", 100, 149), ("C", 0, 99)):
        GradeBand.objects.create(model=model, grade=grade, min_score=low, max_score=high)
    return model


def _run(side: str, model, now, *, noop: bool) -> None:
    """One recompute of `side` into `model`'s score rows."""
    from django.db import connection

    from leadscoring.services import scoring_model_recompute

    if side == "project":
        scoring_model_recompute(model=model, now=now)
        return
    with connection.cursor() as cursor:
        if side == "project SQL":
            cursor.execute(sql.WITHOUT_INDEX_SCANS)
            cursor.execute(sql.CONTACT_POINTS, {"now": now})
            cursor.execute(sql.HAND_WRITTEN, {"model": model.pk, "now": now})
            cursor.execute(sql.WITH_INDEX_SCANS)
        else:
            cursor.execute(sql.FLOOR_Q4B if noop else sql.FLOOR_Q4, {"model": model.pk, "now": now})


def _rows_written() -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(sql.ROWS_WRITTEN)
        row = cursor.fetchone()
    return int(row[0]) if row else 0


def _rounds(models: dict, now, rounds: int) -> dict[tuple[str, str], list[tuple[float, int]]]:
    """{(phase, side): [(seconds, score rows written), ...]} over `rounds` rounds of full + no-op,
    every side starting each round from all scores 0; the sides' order alternates."""
    from django.db import connection

    timings: dict[tuple[str, str], list[tuple[float, int]]] = {}
    for number in range(rounds):
        with connection.cursor() as cursor:
            for model in models.values():
                cursor.execute(sql.ZERO_SCORES, {"model": model.pk, "now": now})
            cursor.execute("ANALYZE leadscoring_leadscore")
        order = SIDES if number % 2 == 0 else tuple(reversed(SIDES))
        for phase in ("full", "no-op"):
            for side in order:
                before = _rows_written()
                with timer() as elapsed:
                    _run(side, models[side], now, noop=phase == "no-op")
                timings.setdefault((phase, side), []).append((elapsed(), _rows_written() - before))
    return timings


def _compared(models: dict) -> list[tuple[str, str]]:
    """The project's and its SQL's score sets (lead id -> score, grade, sales_ready), compared."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(sql.SETS_DIFFER, {"a": models["project"].pk, "b": models["project SQL"].pk})
        differing, scored, leads, top = cursor.fetchone()
    return [
        (
            "score sets project / SQL",
            f"{scored:,} of {leads:,} leads scored, {differing:,} differing (top score {top})",
        )
    ]


def _cell(runs: list[tuple[float, int]]) -> str:
    seconds = [s for s, _ in runs]
    written = sorted({w for _, w in runs})
    spread = f" ({min(seconds):.2f}-{max(seconds):.2f})" if len(seconds) > 1 else ""
    return f"{statistics.median(seconds):.2f}s{spread} w={'/'.join(f'{w:,}' for w in written)}"


def _print_table(timings: dict, rounds: int) -> None:
    print(f"\n  median of {rounds} rounds (min-max), w = score rows written; floor = pg-floor Q4 / Q4b")
    width = max(len(_cell(runs)) for runs in timings.values()) + 2
    print(f"  {'':<16}" + "".join(f"{side:<{width}}" for side in SIDES))
    for phase, label in (("full", "full (from 0)"), ("no-op", "no-op (Q4b)")):
        print(f"  {label:<16}" + "".join(f"{_cell(timings[phase, side]):<{width}}" for side in SIDES))
    for phase, goal in (("full", 1.5), ("no-op", 2.0)):
        project, floor = (
            statistics.median(s for s, _ in timings[phase, side]) for side in ("project", "floor")
        )
        print(f"  {phase} project / floor: {project / floor:.2f} (goal <= {goal})")


def _incremental(model, now, new_interactions: int) -> list[tuple[str, str]]:
    """4: `new_interactions` for random contacts, then the hook's drain of the Redis pending set."""
    from django.db import connection

    from leadscoring.services import pending_contacts_drain, pending_contacts_key, redis_client

    rng = random.Random(7)
    with connection.cursor() as cursor:
        cursor.execute("SELECT min(id), max(id) FROM crm_core_contact")
        low, high = cursor.fetchone()
        kinds = [kind for _, kind, _, _, _ in RULES]
        values = [
            (
                rng.randint(low, high),
                rng.choice(kinds),
                now,
                '{"url": "https://nurture.example/pricing"}',
                now,
            )
            for _ in range(new_interactions)
        ]
        cursor.executemany(
            "INSERT INTO crm_core_interaction (contact_id, kind, occurred_at, properties, created_at)"
            " SELECT %s, %s, %s, %s::jsonb, %s"
            " WHERE EXISTS (SELECT 1 FROM crm_core_contact WHERE id = %s)",
            [(*v, v[0]) for v in values],
        )
    client = redis_client()
    client.delete(pending_contacts_key())
    with timer() as incremental:
        client.sadd(pending_contacts_key(), *{v[0] for v in values})
        contacts = pending_contacts_drain(now=now)
    return [
        ("new interactions / contacts", f"{len(values):,} / {contacts:,}"),
        ("incremental (hook's drain)", f"{incremental():.2f}s"),
        ("incremental interactions/s", f"{len(values) / incremental():,.0f}"),
    ]
