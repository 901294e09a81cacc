"""Creating and changing scoring models: the model's fields, its rules and its grade bands at once.

The one writer of models, rules and bands: the API and the admin (the model's page with its rule and
band rows, and the scoring rule pages) both save through `scoring_model_save`.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from ..models import GradeBand, ScoringModel, ScoringModelStatus, ScoringRule, grade_bands_validate
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


def _rules_checked(rules: list[ScoringRule]) -> None:
    """Each rule passes the model's check (the check the API's and the admin's forms make first)."""
    problems = []
    for index, rule in enumerate(rules):
        try:
            rule.clean()
        except ValidationError as error:
            problems += [f"Rule {index} ({rule.name}): {message}" for message in error.messages]
    if problems:
        raise ValidationError({"rules": problems})


def _rules_replace(model: ScoringModel, rules: list[dict]) -> None:
    """The model's rules become `rules`. A rule with the `id` of one of the model's rules changes that
    rule in place (its id and created_at stay; given no other field it is kept as it is); one without
    an `id` is new; the model's rules not named are deleted."""
    existing = {rule.pk: rule for rule in model.rules.all()}
    kept = {rule["id"] for rule in rules if rule.get("id") is not None}
    unknown = sorted(kept - existing.keys())
    if unknown:
        missing = [f"No rule {pk} in this model (deleted meanwhile?)." for pk in unknown]
        raise ValidationError({"rules": missing})
    now = timezone.now()
    changed, new, final = [], [], []
    for values in rules:
        fields = {name: value for name, value in values.items() if name != "id"}
        if values.get("id") is None:
            rule = ScoringRule(model=model, **_rule_defaults(fields))
            new.append(rule)
        else:
            rule = existing[values["id"]]
            if any(getattr(rule, name) != value for name, value in fields.items()):
                for name, value in fields.items():
                    setattr(rule, name, value)
                rule.updated_at = now
                changed.append(rule)
        final.append(rule)
    _rules_checked(final)
    model.rules.exclude(pk__in=kept).delete()
    ScoringRule.objects.bulk_update(changed, [*RULE_FIELDS, "updated_at"])
    ScoringRule.objects.bulk_create(new)


def _grade_bands_replace(model: ScoringModel, bands: list[dict]) -> None:
    grade_bands_validate(bands)  # raises the problems of the set (overlaps, gaps, repeated grades)
    model.grade_bands.all().delete()
    GradeBand.objects.bulk_create([GradeBand(model=model, **band) for band in bands])


@transaction.atomic
def scoring_model_save(
    *, model: ScoringModel | None, data: dict, rules: list[dict] | None, grade_bands: list[dict] | None
) -> ScoringModel:
    """Create or change a scoring model; `rules` / `grade_bands` replace the existing ones (a rule
    with an `id` is that rule, changed in place: see `_rules_replace`). All are checked here too;
    a problem raises ValidationError and nothing is saved.

    A live model is recomputed in the worker after commit.
    """
    model = model or ScoringModel()
    for name, value in data.items():
        setattr(model, name, value)
    model.clean()
    model.save()
    if rules is not None:
        _rules_replace(model, rules)
    if grade_bands is not None:
        _grade_bands_replace(model, grade_bands)
    if model.status == ScoringModelStatus.LIVE:
        scoring_model_schedule_recompute(model=model)
    return model
