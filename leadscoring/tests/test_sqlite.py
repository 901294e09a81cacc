"""On the embedded default (a real SQLite file, no Redis) the worker's scoring really runs."""

from conftest import manage, migrated_sqlite, sqlite_default_env

SCRIPT = r"""
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core import mail
from django.db import connection
from django.utils import timezone

from crm_core.models import Contact, Interaction, InteractionKind, JobRole, Lead, LeadStatus, LeadStatusChange
from crm_core.services import interaction_record
from leadscoring.models import DecayMode, GradeBand, LeadScore, SalesReadyCrossing, ScoringModel, ScoringRule
from leadscoring.services import lead_score_explain, scoring_model_recompute

assert connection.vendor == "sqlite"
rep = get_user_model().objects.create(username="rep", email="rep@example.com")
rep.groups.add(Group.objects.get(name="sales"))
model = ScoringModel.objects.create(
    name="Primary", status="live", is_primary=True, sales_ready_threshold=50,
    decay_mode=DecayMode.WINDOW, decay_days=30,
)
pricing = ScoringRule.objects.create(
    model=model, name="Pricing", interaction_kind=InteractionKind.PAGE_VISIT, url_contains="Pricing",
    points=10, max_count=3,
)
demo = ScoringRule.objects.create(
    model=model, name="Demo", interaction_kind=InteractionKind.FORM_SUBMIT, form="DÉMO", points=30
)
boss = ScoringRule.objects.create(
    model=model, name="Decision maker", points=15,
    condition={"conditions": [{
        "related": "parent_contact", "quantifier": "exists",
        "conditions": [{"field": "job_role", "op": "eq", "value": "decision_maker"}],
    }]},
)
GradeBand.objects.create(model=model, grade="A", min_score=50)
GradeBand.objects.create(model=model, grade="B", min_score=20, max_score=49)
GradeBand.objects.create(model=model, grade="C", min_score=0, max_score=19)
decay = ScoringModel.objects.create(
    name="Half-life", status="live", decay_mode=DecayMode.HALF_LIFE, decay_days=7
)
ScoringRule.objects.create(
    model=decay, name="Visits", interaction_kind=InteractionKind.PAGE_VISIT, points=100
)

ann = Contact.objects.create(email="ann@example.com", last_name="Ann", job_role=JobRole.DECISION_MAKER)
bob = Contact.objects.create(email="bob@example.com", last_name="Bob")
hot = Lead.objects.create(topic="Widgets", parent_contact=ann)
cold = Lead.objects.create(topic="Gadgets", parent_contact=bob)
orphan = Lead.objects.create(topic="Orphan", email="nobody@example.com")
now = timezone.now().replace(microsecond=0)
# bulk_create: no post_save, so nothing is rescored before the recompute below.
Interaction.objects.bulk_create(
    [
        *(Interaction(contact=ann, kind="page_visit", occurred_at=now - timedelta(days=days),
                      properties={"url": "/PRICING/plans"}) for days in (0, 1, 2, 7)),  # capped: newest 3
        Interaction(contact=ann, kind="form_submit", occurred_at=now - timedelta(hours=1),
                    properties={"form": "démo"}),  # case-insensitive beyond ASCII, as on PostgreSQL
        Interaction(contact=ann, kind="form_submit", occurred_at=now - timedelta(days=40),
                    properties={"form": "démo"}),  # outside the 30-day window
        Interaction(contact=bob, kind="page_visit", occurred_at=now - timedelta(days=7),
                    properties={"url": "/blog"}),
    ]
)
mail.outbox = []
result = scoring_model_recompute(model=model, now=now)
assert (result.leads_scored, result.handed_off, result.returned) == (3, 1, 0), result
scores = {s.lead_id: (s.score, s.grade, s.sales_ready) for s in LeadScore.objects.filter(model=model)}
assert scores == {hot.pk: (75, "A", True), cold.pk: (0, "C", False), orphan.pk: (0, "C", False)}, scores
hot.refresh_from_db()
assert (hot.status, hot.owner_id, hot.score, hot.grade, hot.sales_ready) == (
    LeadStatus.MARKETING_QUALIFIED, rep.pk, 75, "A", True)
change = LeadStatusChange.objects.get(lead=hot)
assert (change.from_status, change.to_status) == ("new", "marketing_qualified")
crossing = SalesReadyCrossing.objects.get(lead=hot)
assert (crossing.direction, crossing.score, crossing.owner_id) == ("up", 75, rep.pk)
assert [m.to for m in mail.outbox] == [["rep@example.com"]], mail.outbox
explanation = lead_score_explain(lead=hot, now=now)
assert [(row["rule"], row["points"], row["count"]) for row in explanation] == [
    ("Pricing", 30, 3), ("Demo", 30, 1), ("Decision maker", 15, 1)], explanation
assert sum(row["points"] for row in explanation) == 75

# Half-life decay, computed on SQLite: ages 0, 1, 2, 7 days at 100 points each.
scoring_model_recompute(model=decay, now=now)
half = {s.lead_id: s.score for s in LeadScore.objects.filter(model=decay)}
expected = round(100 * (1 + 0.5 ** (1 / 7) + 0.5 ** (2 / 7) + 0.5))
assert half == {hot.pk: expected, cold.pk: 50, orphan.pk: 0}, half

# Incremental, without Redis: a new interaction rescores its contact's leads through the task.
interaction_record(contact_id=bob.pk, kind="form_submit", occurred_at=timezone.now() - timedelta(minutes=1),
                   properties={"form": "DÉMO"})
cold.refresh_from_db()
assert (cold.score, cold.grade) == (30, "B"), (cold.score, cold.grade)
# Falling below the threshold: back to nurture.
Interaction.objects.filter(contact=ann, kind="form_submit").delete()
ScoringRule.objects.filter(pk=boss.pk).delete()
result = scoring_model_recompute(model=model, now=now)
assert result.returned == 1, result
assert Lead.objects.get(pk=hot.pk).status == LeadStatus.NURTURE
print("scoring ok")
"""


def test_scoring_runs_on_the_sqlite_default(tmp_path):
    env = sqlite_default_env(
        tmp_path,
        # The task the no-Redis path enqueues runs in the process (no worker in this test).
        CELERY_TASK_ALWAYS_EAGER="true",
        EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend",
    )
    migrated_sqlite(env)
    shell = manage(env, "shell", "-c", SCRIPT)
    assert shell.returncode == 0, shell.stderr
    assert "scoring ok" in shell.stdout
