"""The recompute and the explanation: rule kinds, property filters, caps, decay, grades, orphans."""

from datetime import UTC, datetime, timedelta

import pytest

from crm_core.models import InteractionKind, JobRole, Lead
from crm_core.services import lead_link_orphans
from crm_core.tests.factories import ContactFactory, InteractionFactory, LeadFactory, OrphanLeadFactory
from leadscoring.models import DecayMode, GradeBand, LeadScore
from leadscoring.services import lead_score_explain, scoring_model_recompute

from .factories import PrimaryScoringModelFactory, ScoringModelFactory, ScoringRuleFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("scoring_path")]

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
K = InteractionKind


def days_ago(days: float) -> datetime:
    return NOW - timedelta(days=days)


def score_of(lead, model, now=NOW) -> int:
    scoring_model_recompute(model=model, now=now)
    return LeadScore.objects.get(lead=lead, model=model).score


def interact(contact, kind, age_days=1.0, **properties):
    return InteractionFactory(
        contact=contact, kind=kind, occurred_at=days_ago(age_days), properties=properties
    )


@pytest.mark.parametrize("kind", [k for k in K.values if k != K.EMAIL_SENT])
def test_each_interaction_kind_scores_only_its_own_kind(kind):
    model = ScoringModelFactory()
    ScoringRuleFactory(model=model, interaction_kind=kind, points=7)
    lead = LeadFactory()
    other = next(k for k in K.values if k != kind)
    interact(lead.parent_contact, kind)
    interact(lead.parent_contact, kind)
    interact(lead.parent_contact, other)
    assert score_of(lead, model) == 14


@pytest.mark.parametrize(
    "rule_filter, matching, not_matching",
    [
        (
            {"url_contains": "/Pricing"},
            {"url": "https://x.example/pricing?a=1"},
            {"url": "https://x.example/blog"},
        ),
        ({"email": "Newsletter 1"}, {"email": "newsletter 1"}, {"email": "Newsletter 2"}),
        ({"form": "demo-request"}, {"form": "Demo-Request"}, {"form": "contact-us"}),
        ({"event": "Summit"}, {"event": "summit"}, {}),
    ],
)
def test_property_conditions(rule_filter, matching, not_matching):
    model = ScoringModelFactory()
    ScoringRuleFactory(model=model, interaction_kind=K.PAGE_VISIT, points=5, **rule_filter)
    lead = LeadFactory()
    interact(lead.parent_contact, K.PAGE_VISIT, **matching)
    interact(lead.parent_contact, K.PAGE_VISIT, **not_matching)
    assert score_of(lead, model) == 5


def test_several_filters_must_all_match_and_interactions_after_now_do_not_count():
    model = ScoringModelFactory()
    ScoringRuleFactory(
        model=model, interaction_kind=K.EMAIL_CLICK, points=3, email="N1", url_contains="pricing"
    )
    lead = LeadFactory()
    interact(lead.parent_contact, K.EMAIL_CLICK, email="n1", url="/pricing")
    interact(lead.parent_contact, K.EMAIL_CLICK, email="n2", url="/pricing")
    interact(lead.parent_contact, K.EMAIL_CLICK, email="n1", url="/blog")
    interact(lead.parent_contact, K.EMAIL_CLICK, age_days=-1, email="n1", url="/pricing")
    assert score_of(lead, model) == 3


def test_negative_points_and_condition_rules():
    model = ScoringModelFactory()
    ScoringRuleFactory(model=model, interaction_kind=K.PAGE_VISIT, points=10)
    ScoringRuleFactory(model=model, interaction_kind=K.PAGE_VISIT, url_contains="careers", points=-15)
    ScoringRuleFactory(
        model=model,
        interaction_kind=None,
        points=30,
        condition={
            "match": "all",
            "conditions": [
                {
                    "related": "parent_contact",
                    "quantifier": "exists",
                    "conditions": [{"field": "job_role", "op": "eq", "value": "decision_maker"}],
                }
            ],
        },
    )
    boss = LeadFactory(parent_contact=ContactFactory(job_role=JobRole.DECISION_MAKER))
    user = LeadFactory(parent_contact=ContactFactory(job_role=JobRole.END_USER))
    for lead in (boss, user):
        interact(lead.parent_contact, K.PAGE_VISIT, url="/careers")
    assert score_of(boss, model) == 10 - 15 + 30
    assert LeadScore.objects.get(lead=user, model=model).score == -5


def test_cap_counts_only_the_newest_interactions():
    model = ScoringModelFactory(decay_mode=DecayMode.LINEAR, decay_days=10)
    ScoringRuleFactory(model=model, interaction_kind=K.EMAIL_OPEN, points=100, max_count=2)
    lead = LeadFactory()
    for age in (9, 1, 5, 0):  # weights 0.1, 0.9, 0.5, 1.0: the newest two are ages 0 and 1
        interact(lead.parent_contact, K.EMAIL_OPEN, age_days=age)
    assert score_of(lead, model) == 190
    assert lead_score_explain(lead=lead, model=model, now=NOW)[0]["count"] == 2


@pytest.mark.parametrize(
    "mode, days, ages, expected",
    [
        (DecayMode.NONE, None, [0, 100, 1000], 300),
        (DecayMode.WINDOW, 90, [0, 89.9, 90.1, 400], 200),
        (DecayMode.LINEAR, 10, [0, 2.5, 5, 10, 20], 100 + 75 + 50),
        (DecayMode.HALF_LIFE, 7, [0, 7, 14, 28], 100 + 50 + 25 + 6),  # 6.25 + ... rounds once per rule
    ],
)
def test_decay_modes_with_frozen_time(mode, days, ages, expected):
    model = ScoringModelFactory(decay_mode=mode, decay_days=days)
    ScoringRuleFactory(model=model, interaction_kind=K.DOWNLOAD, points=100)
    lead = LeadFactory()
    for age in ages:
        interact(lead.parent_contact, K.DOWNLOAD, age_days=age)
    assert score_of(lead, model) == expected


def test_decay_moves_with_now():
    model = ScoringModelFactory(decay_mode=DecayMode.WINDOW, decay_days=30)
    ScoringRuleFactory(model=model, interaction_kind=K.DOWNLOAD, points=40)
    lead = LeadFactory()
    interact(lead.parent_contact, K.DOWNLOAD, age_days=20)
    assert score_of(lead, model, now=NOW) == 40
    assert score_of(lead, model, now=NOW + timedelta(days=11)) == 0


@pytest.mark.parametrize(
    "score, grade", [(149, "B"), (150, "A"), (99, "C"), (100, "B"), (0, "C"), (-1, ""), (10**6, "A")]
)
def test_grades_at_band_edges(score, grade):
    model = ScoringModelFactory()
    GradeBand.objects.create(model=model, grade="A", min_score=150, max_score=None)
    GradeBand.objects.create(model=model, grade="B", min_score=100, max_score=149)
    GradeBand.objects.create(model=model, grade="C", min_score=0, max_score=99)
    ScoringRuleFactory(model=model, interaction_kind=K.DOWNLOAD, points=score)
    lead = LeadFactory()
    interact(lead.parent_contact, K.DOWNLOAD)
    scoring_model_recompute(model=model, now=NOW)
    row = LeadScore.objects.get(lead=lead, model=model)
    assert (row.score, row.grade, row.sales_ready) == (score, grade, score >= 100)


def test_explanation_sums_to_the_score():
    model = ScoringModelFactory(decay_mode=DecayMode.HALF_LIFE, decay_days=3)
    rules = [
        ScoringRuleFactory(model=model, interaction_kind=K.EMAIL_OPEN, points=3),
        ScoringRuleFactory(model=model, interaction_kind=K.EMAIL_CLICK, points=7, max_count=2),
        ScoringRuleFactory(model=model, interaction_kind=K.PAGE_VISIT, url_contains="careers", points=-4),
        ScoringRuleFactory(model=model, interaction_kind=K.FORM_SUBMIT, points=25),  # no match
        ScoringRuleFactory(
            model=model,
            interaction_kind=None,
            points=11,
            condition={"conditions": [{"field": "topic", "op": "eq", "value": "widgets"}]},
        ),
    ]
    lead = LeadFactory(topic="Widgets")
    for age in (0.3, 1.7, 2.2, 5.5):
        interact(lead.parent_contact, K.EMAIL_OPEN, age_days=age)
        interact(lead.parent_contact, K.EMAIL_CLICK, age_days=age)
        interact(lead.parent_contact, K.PAGE_VISIT, age_days=age, url="/careers/x")
    score = score_of(lead, model)
    explanation = lead_score_explain(lead=lead, model=model, now=NOW)
    assert sum(row["points"] for row in explanation) == score
    assert {row["rule_id"] for row in explanation} == {rules[0].pk, rules[1].pk, rules[2].pk, rules[4].pk}
    by_rule = {row["rule_id"]: row for row in explanation}
    assert by_rule[rules[1].pk]["count"] == 2 and by_rule[rules[4].pk]["points"] == 11


def test_leads_of_one_contact_share_its_interactions_and_orphans_score_zero_until_linked():
    model = PrimaryScoringModelFactory(sales_ready_threshold=1000)
    ScoringRuleFactory(model=model, interaction_kind=K.FORM_SUBMIT, points=20)
    contact = ContactFactory(email="pat@example.com")
    first = LeadFactory(parent_contact=contact)
    second = LeadFactory(parent_contact=contact)
    orphan = OrphanLeadFactory(email="pat@example.com")
    interact(contact, K.FORM_SUBMIT)
    scoring_model_recompute(model=model, now=NOW)
    scores = dict(LeadScore.objects.filter(model=model).values_list("lead_id", "score"))
    assert scores == {first.pk: 20, second.pk: 20, orphan.pk: 0}
    lead_link_orphans(lead_ids=[orphan.pk])
    scoring_model_recompute(model=model, lead_ids=[orphan.pk], now=NOW)
    assert LeadScore.objects.get(lead=orphan, model=model).score == 20
    # The primary model fills the lead's own fields.
    assert Lead.objects.get(pk=orphan.pk).score == 20


def test_recompute_of_some_leads_leaves_the_others_alone():
    model = ScoringModelFactory()
    ScoringRuleFactory(model=model, interaction_kind=K.DOWNLOAD, points=5)
    a, b = LeadFactory(), LeadFactory()
    scoring_model_recompute(model=model, now=NOW)
    interact(a.parent_contact, K.DOWNLOAD)
    interact(b.parent_contact, K.DOWNLOAD)
    scoring_model_recompute(model=model, lead_ids=[a.pk], now=NOW)
    assert dict(LeadScore.objects.values_list("lead_id", "score")) == {a.pk: 5, b.pk: 0}
