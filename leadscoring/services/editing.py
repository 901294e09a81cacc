"""Creating and changing scoring models: the model's fields, its rules and its grade bands at once."""

from __future__ import annotations

from django.conf import settings
from django.db import transaction

from ..models import GradeBand, ScoringModel, ScoringModelStatus, ScoringRule
from .recompute import scoring_model_schedule_recompute

RULE_FIELDS = (
    "name",
    "interaction_kind",
    "url_contains",
    "email",
    "form",
    "event",
    "points",
    "max_count",
    "condition",
)
BAND_FIELDS = ("grade", "min_score", "max_score")


def _rule_defaults(rule: dict) -> dict:
    """An interaction rule given no cap gets SCORING_DEFAULT_RULE_CAP (an explicit None means none),
    so no rule can be pumped without limit by default."""
    if rule.get("interaction_kind") and "max_count" not in rule:
        return {**rule, "max_count": settings.SCORING_DEFAULT_RULE_CAP}
    return rule


@transaction.atomic
def scoring_model_save(
    *, model: ScoringModel | None, data: dict, rules: list[dict] | None, grade_bands: list[dict] | None
) -> ScoringModel:
    """Create or change a scoring model; `rules` / `grade_bands` (validated) replace the existing ones.

    A live model is recomputed in the worker after commit.
    """
    model = model or ScoringModel()
    for name, value in data.items():
        setattr(model, name, value)
    model.clean()
    model.save()
    if rules is not None:
        model.rules.all().delete()
        ScoringRule.objects.bulk_create([ScoringRule(model=model, **_rule_defaults(rule)) for rule in rules])
    if grade_bands is not None:
        model.grade_bands.all().delete()
        GradeBand.objects.bulk_create([GradeBand(model=model, **band) for band in grade_bands])
    if model.status == ScoringModelStatus.LIVE:
        scoring_model_schedule_recompute(model=model)
    return model
