"""Times lead scoring: full recompute, incremental after 10,000 interactions, and hand-written SQL.

A model with 6 rules (5 interaction rules, one a capped one, and a rule on the contact's job role)
and a 90-day window. Everything runs in ONE transaction that is rolled back: the scoring tables are
created inside it when the data set's database does not have them (PostgreSQL DDL is transactional),
so the shared data set stays exactly as found (no migration is recorded, no CRM row changes).

1. full: `scoring_model_recompute` over every lead (a non-primary model, so lead rows are untouched);
2. hand-written: the same scores as one hand-written INSERT ... ON CONFLICT into the score table for a
   twin model; both results are compared lead by lead;
3. incremental: 10,000 new interactions for random contacts, then the coalesced path of
   `interactions_recorded`: the contact ids in the Redis set, drained in batches (`pending_contacts_drain`).
"""

from __future__ import annotations

import argparse
import random

from bench.common import database_url, dataset_ready, ensure_dataset, report, setup_django, timer

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

HAND_WRITTEN = """
INSERT INTO leadscoring_leadscore (lead_id, model_id, score, grade, sales_ready, computed_at, handoff_state)
SELECT s.id, %(model)s, s.score,
       CASE WHEN s.score >= 150 THEN 'A' WHEN s.score BETWEEN 100 AND 149 THEN 'B'
            WHEN s.score BETWEEN 0 AND 99 THEN 'C' ELSE '' END,
       s.score >= 100, %(now)s, ''
FROM (
    SELECT l.id, COALESCE(c.points, 0) + CASE WHEN ct.job_role = 'decision_maker' THEN 30 ELSE 0 END AS score
    FROM crm_core_lead l
    LEFT JOIN contact_points c ON c.contact_id = l.parentcontactid
    LEFT JOIN crm_core_contact ct ON ct.id = l.parentcontactid
) s
ON CONFLICT (lead_id, model_id) DO UPDATE SET score = EXCLUDED.score, grade = EXCLUDED.grade,
    sales_ready = EXCLUDED.sales_ready, computed_at = EXCLUDED.computed_at
"""
CONTACT_POINTS = """
CREATE TEMP TABLE contact_points ON COMMIT DROP AS
SELECT contact_id,
       2 * LEAST(count(*) FILTER (WHERE kind = 'email_open'), 10)
     + 5 * count(*) FILTER (WHERE kind = 'email_click')
     + 10 * count(*) FILTER (
            WHERE kind = 'page_visit' AND strpos(lower(properties ->> 'url'), '/pricing') > 0)
     + 25 * count(*) FILTER (WHERE kind = 'form_submit')
     + 15 * count(*) FILTER (WHERE kind = 'download') AS points
FROM crm_core_interaction
WHERE kind IN ('email_open', 'email_click', 'page_visit', 'form_submit', 'download')
  AND occurred_at >= %(now)s::timestamptz - interval '90 days' AND occurred_at <= %(now)s
GROUP BY contact_id
"""


class Rollback(Exception):
    pass


def _ensure_tables() -> bool:
    from django.apps import apps
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass('leadscoring_leadscore') IS NOT NULL")
        if cursor.fetchone()[0]:
            return False
    with connection.schema_editor() as editor:
        for name in ("ScoringModel", "GradeBand", "ScoringRule", "LeadScore", "SalesReadyCrossing"):
            editor.create_model(apps.get_model("leadscoring", name))
    return True


def _make_model(name: str):
    from leadscoring.models import GradeBand, ScoringModel, ScoringRule

    model = ScoringModel.objects.create(
        name=name, status="live", sales_ready_threshold=100, decay_mode="window", decay_days=WINDOW_DAYS
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


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench scoring", description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=20011, help="data set size (1000000: the shared set)")
    parser.add_argument("--new-interactions", type=int, default=10_000)
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

    from leadscoring.models import ScoringModel

    if not settings.REDIS_URL:
        print("set REDIS_URL: the incremental path drains a Redis set")
        return 1
    rows: list[tuple[str, str]] = []
    now = timezone.now()
    try:
        with transaction.atomic():
            created = _ensure_tables()
            rows += [*_data_set_size(), ("tables made", str(created))]
            model = _make_model("bench: service")
            twin = _make_model("bench: hand-written")
            ScoringModel.objects.filter(pk=twin.pk).update(
                status="draft"
            )  # only `model` is rescored incrementally
            rows += _full_recomputes(model, twin, now)
            rows += _incremental(model, now, args.new_interactions)
            raise Rollback
    except Rollback:
        pass
    report(
        f"lead scoring on {args.contacts:,} contacts (rolled back; shared machine: figures are noisy)", rows
    )
    return 0


def _data_set_size() -> list[tuple[str, str]]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM crm_core_lead")
        leads = cursor.fetchone()[0]
        cursor.execute("SELECT count(*) FROM crm_core_interaction")
        interactions = cursor.fetchone()[0]
    return [("leads", f"{leads:,}"), ("interactions", f"{interactions:,}")]


def _full_recomputes(model, twin, now) -> list[tuple[str, str]]:
    """1 and 2: the service's full recompute of `model`, the hand-written SQL into `twin`, compared."""
    from django.db import connection

    from leadscoring.services import scoring_model_recompute

    with timer() as full:
        scoring_model_recompute(model=model, now=now)
    with timer() as hand, connection.cursor() as cursor:
        cursor.execute(CONTACT_POINTS, {"now": now})
        cursor.execute("ANALYZE contact_points")  # a temp table has no statistics otherwise
        cursor.execute(HAND_WRITTEN, {"model": twin.pk, "now": now})
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT count(*) FILTER (
                          WHERE a.score IS DISTINCT FROM b.score OR a.grade IS DISTINCT FROM b.grade),
                      count(*), max(a.score)
               FROM leadscoring_leadscore a
               FULL JOIN leadscoring_leadscore b ON b.lead_id = a.lead_id AND b.model_id = %s
               WHERE a.model_id = %s""",
            [twin.pk, model.pk],
        )
        differing, compared, top = cursor.fetchone()
    return [
        ("full recompute (service)", f"{full():.2f}s"),
        ("full recompute (hand-written SQL)", f"{hand():.2f}s"),
        ("ratio service / hand-written", f"{full() / hand():.2f} (goal <= 1.5)"),
        ("leads compared / differing", f"{compared:,} / {differing:,} (top score {top})"),
    ]


def _incremental(model, now, new_interactions: int) -> list[tuple[str, str]]:
    """3: `new_interactions` for random contacts, then the hook's drain of the Redis pending set."""
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
