"""`scoring_model_save`, the one writer of models, rules and bands (API and admin): a rule named by
its id is changed in place, the others replaced; every rule and band set is checked here too, and a
refusal saves nothing."""

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from conftest import rerun_on_sqlite
from crm_core.models import InteractionKind
from leadscoring.models import ScoringRule
from leadscoring.services import scoring_model_save

from .factories import GradeBandFactory, ScoringModelFactory, ScoringRuleFactory

pytestmark = pytest.mark.django_db


def _rules(model) -> list[tuple]:
    return list(model.rules.order_by("id").values_list("pk", "name", "points", "max_count", "created_at"))


def test_a_rule_named_by_id_is_changed_in_place_and_the_unnamed_ones_go():
    model = ScoringModelFactory(status="draft")
    kept = ScoringRuleFactory(model=model, name="Opens", points=1, max_count=None)
    untouched = ScoringRuleFactory(model=model, name="Visits", interaction_kind=InteractionKind.PAGE_VISIT)
    dropped = ScoringRuleFactory(model=model, name="Forms")
    before = {row[0]: row for row in _rules(model)}
    rules = [
        {"id": kept.pk, "name": "Opens", "interaction_kind": "email_open", "points": 4, "max_count": None},
        {"id": untouched.pk},
        {"name": "Downloads", "interaction_kind": "download", "points": 6},
    ]
    scoring_model_save(model=model, data={}, rules=rules, grade_bands=None)
    after = _rules(model)
    assert [row[:4] for row in after[:2]] == [(kept.pk, "Opens", 4, None), before[untouched.pk][:4]]
    assert after[0][4] == before[kept.pk][4]  # the same rule: created_at kept
    assert after[2][1:4] == ("Downloads", 6, 10)  # new: the default cap
    assert not ScoringRule.objects.filter(pk=dropped.pk).exists()


@pytest.mark.parametrize(
    "rule, message",
    [
        ({"name": "x", "points": 1}, "needs a condition"),
        (
            {"name": "x", "interaction_kind": "email_open", "points": 1, "max_count": 0},
            "greater than or equal",
        ),
        ({"name": "x", "points": 1, "form": "f", "condition": {"conditions": []}}, "interaction rules only"),
        ({"id": 10**9, "name": "x", "interaction_kind": "email_open", "points": 1}, "No rule"),
    ],
)
def test_a_bad_rule_is_refused_by_the_service_and_nothing_is_saved(rule, message):
    model = ScoringModelFactory(name="Main", sales_ready_threshold=100)
    saved = ScoringRuleFactory(model=model)
    before = _rules(model)
    with pytest.raises(ValidationError) as refused:
        scoring_model_save(model=model, data={"sales_ready_threshold": 5}, rules=[rule], grade_bands=None)
    assert any(message in text for text in refused.value.message_dict["rules"])
    model.refresh_from_db()
    assert model.sales_ready_threshold == 100 and _rules(model) == before and saved.pk == before[0][0]


def test_bad_bands_are_refused_by_the_service_and_nothing_is_saved():
    model = ScoringModelFactory()
    rule = ScoringRuleFactory(model=model)
    GradeBandFactory(model=model, grade="A", min_score=0)
    bands = [
        {"grade": "A", "min_score": 50, "max_score": None},
        {"grade": "B", "min_score": 0, "max_score": 10},
    ]
    with pytest.raises(ValidationError, match="Gap between bands"):
        scoring_model_save(model=model, data={"name": "Renamed"}, rules=[], grade_bands=bands)
    model.refresh_from_db()
    assert model.name != "Renamed" and list(model.grade_bands.values_list("grade", flat=True)) == ["A"]
    assert list(model.rules.values_list("pk", flat=True)) == [rule.pk]  # its replacement rolled back


def test_a_second_primary_model_is_refused_by_the_models_check():
    ScoringModelFactory(name="First", is_primary=True)
    other = ScoringModelFactory()
    with pytest.raises(ValidationError) as refused:
        scoring_model_save(model=other, data={"is_primary": True}, rules=None, grade_bands=None)
    assert refused.value.message_dict["is_primary"] == [
        "'First' is the primary model; make it not primary first."
    ]


def test_the_same_holds_on_sqlite(tmp_path):
    """This module again, in a process on the embedded default's database (SQLite)."""
    run = rerun_on_sqlite(tmp_path, __file__, leave_out="test_the_same_holds_on_sqlite")
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-3000:]
    assert connection.vendor == "postgresql" and "7 passed" in run.stdout, run.stdout[-2000:]
