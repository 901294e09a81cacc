import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction

from crm_core.models import JobRole, Lead
from crm_core.tests.factories import ContactFactory, LeadFactory, OrphanLeadFactory
from leadscoring.conditions import ConditionError, condition_q
from leadscoring.models import DecayMode, ScoringModelStatus, ScoringRule, grade_bands_validate

from .factories import PrimaryScoringModelFactory, ScoringModelFactory, ScoringRuleFactory

pytestmark = pytest.mark.django_db


def test_at_most_one_primary_model():
    PrimaryScoringModelFactory()
    ScoringModelFactory(is_primary=False)
    with pytest.raises(IntegrityError), transaction.atomic():
        PrimaryScoringModelFactory()


def test_primary_model_must_be_live_and_decay_needs_days():
    with pytest.raises(IntegrityError), transaction.atomic():
        ScoringModelFactory(is_primary=True, status=ScoringModelStatus.DRAFT)
    with pytest.raises(IntegrityError), transaction.atomic():
        ScoringModelFactory(decay_mode=DecayMode.WINDOW, decay_days=None)
    model = ScoringModelFactory.build(decay_mode=DecayMode.HALF_LIFE, decay_days=None)
    with pytest.raises(ValidationError) as error:
        model.clean()
    assert "decay_days" in error.value.message_dict


def test_rule_has_kind_or_condition_not_both():
    model = ScoringModelFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        ScoringRuleFactory(model=model, interaction_kind=None, condition=None)
    rule = ScoringRule(
        model=model, name="x", interaction_kind=None, points=5, form="f", condition={"conditions": []}
    )
    with pytest.raises(ValidationError) as error:
        rule.clean()
    assert "form" in error.value.message_dict


@pytest.mark.parametrize(
    "bands, ok",
    [
        ([("A", 150, None), ("B", 100, 149), ("C", 0, 99)], True),
        ([("A", 150, None)], True),
        ([("A", 150, None), ("B", 100, 150)], False),  # overlap
        ([("A", 150, None), ("B", 100, 148)], False),  # gap
        ([("A", 150, None), ("B", 100, None)], False),  # two open-ended
        ([("A", 150, None), ("A", 100, 149)], False),  # same grade twice
        ([("B", 100, 90)], False),  # max below min
    ],
)
def test_grade_bands_continuous_and_non_overlapping(bands, ok):
    rows = [{"grade": g, "min_score": lo, "max_score": hi} for g, lo, hi in bands]
    if ok:
        grade_bands_validate(rows)
    else:
        with pytest.raises(ValidationError):
            grade_bands_validate(rows)


def test_condition_q_on_lead_and_contact_fields():
    boss = LeadFactory(topic="Widgets", parent_contact=ContactFactory(job_role=JobRole.DECISION_MAKER))
    user = LeadFactory(topic="widgets", parent_contact=ContactFactory(job_role=JobRole.END_USER))
    orphan = OrphanLeadFactory(topic="Gadgets")

    def ids(definition):
        return set(Lead.objects.filter(condition_q(definition)).values_list("pk", flat=True))

    role_is_boss = {
        "related": "parent_contact",
        "quantifier": "exists",
        "conditions": [{"field": "job_role", "op": "eq", "value": "decision_maker"}],
    }
    assert ids({"match": "all", "conditions": [role_is_boss]}) == {boss.pk}
    assert ids({"match": "all", "conditions": [role_is_boss], "negate": True}) == {user.pk, orphan.pk}
    assert ids({"conditions": [{"field": "topic", "op": "eq", "value": "WIDGETS"}]}) == {boss.pk, user.pk}
    assert ids({"conditions": [{"field": "topic", "op": "in", "value": ["gadgets", "none"]}]}) == {orphan.pk}
    assert ids({"conditions": [{"field": "topic", "op": "neq", "value": "widgets"}]}) == {orphan.pk}
    either = {
        "match": "any",
        "conditions": [role_is_boss, {"field": "topic", "op": "eq", "value": "gadgets"}],
    }
    assert ids(either) == {boss.pk, orphan.pk}


@pytest.mark.parametrize(
    "definition, path",
    [
        ({"conditions": [{"field": "password", "op": "eq", "value": "x"}]}, "conditions[0].field"),
        ({"conditions": [{"field": "topic", "op": "gt", "value": "x"}]}, "conditions[0].op"),
        ({"conditions": [{"field": "job_role", "op": "eq", "value": "boss"}]}, "conditions[0].value"),
        ({"conditions": [{"related": "opportunities", "conditions": []}]}, "conditions[0].related"),
        ({"conditions": [{"in_segment": 3}]}, "conditions[0].in_segment"),
        ({"match": "some", "conditions": []}, "match"),
        ({"entity": "contact", "conditions": []}, "entity"),
        ({"conditions": [{"field": "topic", "op": "eq", "value": "x", "bogus": 1}]}, "conditions[0].bogus"),
        ("job_role = boss", ""),
    ],
)
def test_condition_q_refuses_what_it_does_not_support(definition, path):
    with pytest.raises(ConditionError) as error:
        condition_q(definition)
    assert path in [p.path for p in error.value.problems]


def test_score_and_crossing_tables_carry_no_index_a_composite_one_starts_with():
    """Every score row written updates each index of its table: the single-column foreign-key indexes
    that `lead_score_unique`, `lead_score_model_score` and `crossing_lead_model_at` make redundant are
    gone (migration 0002)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tablename, indexdef FROM pg_indexes WHERE tablename = ANY(%s)",
            [["leadscoring_leadscore", "leadscoring_salesreadycrossing"]],
        )
        indexed = {(table, definition.split(" USING btree ")[1]) for table, definition in cursor.fetchall()}
    assert {columns for table, columns in indexed if table == "leadscoring_leadscore"} == {
        "(id)",
        "(lead_id, model_id)",
        "(model_id, score)",
    }
    assert "(lead_id)" not in {columns for table, columns in indexed if table != "leadscoring_leadscore"}
