"""The demo on the embedded default (SQLite): its interactions are stored as the product stores them,
so segments and scoring rules on their properties find them, and the journeys tick counts entries."""

from conftest import manage, migrated_sqlite, sqlite_default_env

DEMO_SCRIPT = """
from datetime import timedelta

from django.utils import timezone

from crm_core.models import Interaction, Lead
from leadscoring.services import lead_score_explain
from segments.compiler.compile import contacts_queryset

page_visits = Interaction.objects.filter(kind="page_visit")
visits = list(page_visits.values_list("contact_id", "occurred_at", "properties"))
assert visits and all(isinstance(p, dict) for _, _, p in visits), visits[:3]
pricing = {(c, at) for c, at, p in visits if "pricing" in p["url"]}
assert pricing

url_contains_pricing = {
    "entity": "contact", "match": "all",
    "conditions": [{"related": "interactions", "quantifier": "exists", "match": "all", "conditions": [
        {"field": "kind", "op": "eq", "value": "page_visit"},
        {"field": "url", "op": "contains", "value": "pricing"},
    ]}],
}
members = set(contacts_queryset(url_contains_pricing).values_list("pk", flat=True))
assert members == {c for c, _ in pricing}, (len(members), len(pricing))

recent = {c for c, at in pricing if at >= timezone.now() - timedelta(days=90)}  # the model's window
leads = list(Lead.objects.filter(parent_contact_id__in=recent).order_by("pk")[:5])
assert leads
for lead in leads:
    rules = {row["rule"]: row["points"] for row in lead_score_explain(lead=lead)}
    assert rules.get("Visited the pricing page", 0) >= 20, rules
print("demo ok", len(members))
"""

TICK_SCRIPT = """
from crm_core.tests.factories import ContactFactory
from journeys.services import journey_go_live, journeys_tick
from journeys.tests.factories import SegmentMemberFactory, make_journey, send_email_step

journey_go_live(journey=make_journey(steps=[send_email_step()]))  # its eager tick: nobody yet
for _ in range(3):
    SegmentMemberFactory(segment_id=1, contact=ContactFactory())
report = journeys_tick(inline=True)
print("entered", report.entered)
"""


def test_the_demo_on_sqlite_stores_interaction_properties_as_objects_that_segments_and_rules_find(tmp_path):
    env = sqlite_default_env(tmp_path)
    migrated_sqlite(env)
    seed = manage(env, "seed_demo", "--contacts", "200", "--no-progress")
    assert seed.returncode == 0, seed.stderr
    check = manage(env, "shell", "-c", DEMO_SCRIPT)
    assert check.returncode == 0, check.stderr
    assert "demo ok" in check.stdout


def test_the_journeys_tick_reports_how_many_entered_on_sqlite(tmp_path):
    env = sqlite_default_env(tmp_path, CELERY_TASK_ALWAYS_EAGER="true")
    migrated_sqlite(env)
    tick = manage(env, "shell", "-c", TICK_SCRIPT)
    assert tick.returncode == 0, tick.stderr
    assert "entered 3" in tick.stdout, tick.stdout
