"""Lead scoring: models with rules, grade bands and decay; the score table; sales-ready crossings."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

from crm_core.models import InteractionKind, Lead


class ScoringModelStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    LIVE = "live", "Live"


class DecayMode(models.TextChoices):
    NONE = "none", "No decay"
    WINDOW = "window", "Count for N days"
    LINEAR = "linear", "Fade linearly to zero over N days"
    HALF_LIFE = "half_life", "Half-life of N days"


class ScoringModel(models.Model):
    """A way of scoring leads. Live models are recomputed; the primary one fills the lead's score fields."""

    name = models.CharField(max_length=200, unique=True)
    status = models.CharField(
        max_length=16, choices=ScoringModelStatus.choices, default=ScoringModelStatus.DRAFT, db_index=True
    )
    is_primary = models.BooleanField(
        "primary",
        default=False,
        help_text="The primary model fills the lead's score, grade and sales-ready flag and hands off leads.",
    )
    sales_ready_threshold = models.IntegerField(default=100)
    handoff_rearm_margin = models.PositiveIntegerField(
        default=10,
        help_text=(
            "After a hand-off, a lead is handed off again only once its score has fallen below "
            "threshold minus this margin and then reached the threshold again."
        ),
    )
    decay_mode = models.CharField(max_length=16, choices=DecayMode.choices, default=DecayMode.NONE)
    decay_days = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="window: points count for N days; linear: fade to zero over N days; half-life: N days.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_primary"], condition=Q(is_primary=True), name="scoring_model_one_primary"
            ),
            models.CheckConstraint(
                condition=Q(is_primary=False) | Q(status=ScoringModelStatus.LIVE),
                name="scoring_model_primary_is_live",
            ),
            models.CheckConstraint(
                condition=Q(decay_mode=DecayMode.NONE) | Q(decay_days__isnull=False, decay_days__gte=1),
                name="scoring_model_decay_days_set",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self):
        errors = {}
        if self.decay_mode != DecayMode.NONE and not self.decay_days:
            errors["decay_days"] = ["Set the number of days for this decay mode (at least 1)."]
        if self.is_primary and self.status != ScoringModelStatus.LIVE:
            errors["is_primary"] = ["Only a live model can be the primary model."]
        if self.is_primary:
            other = ScoringModel.objects.filter(is_primary=True).exclude(pk=self.pk).first()
            if other is not None:
                message = f"'{other.name}' is the primary model; make it not primary first."
                errors.setdefault("is_primary", []).append(message)
        if errors:
            raise ValidationError(errors)


class GradeBand(models.Model):
    """Scores from min_score to max_score (inclusive; no max = no upper bound) get this grade."""

    model = models.ForeignKey(ScoringModel, on_delete=models.CASCADE, related_name="grade_bands")
    grade = models.CharField(max_length=8)
    min_score = models.IntegerField()
    max_score = models.IntegerField(null=True, blank=True)

    class Meta:
        ordering = ["model", "-min_score"]
        constraints = [
            models.UniqueConstraint(fields=["model", "grade"], name="grade_band_unique_grade"),
            models.UniqueConstraint(fields=["model", "min_score"], name="grade_band_unique_min"),
            models.CheckConstraint(
                condition=Q(max_score__isnull=True) | Q(max_score__gte=models.F("min_score")),
                name="grade_band_max_gte_min",
            ),
        ]

    def __str__(self) -> str:
        upper = "" if self.max_score is None else f"-{self.max_score}"
        return f"{self.grade}: {self.min_score}{upper if upper else '+'}"

    def clean(self):
        if self.max_score is not None and self.min_score is not None and self.max_score < self.min_score:
            raise ValidationError({"max_score": ["Set max_score at or above min_score (or leave it blank)."]})


def grade_bands_validate(bands: list[dict]) -> None:
    """Bands ({"grade", "min_score", "max_score"}) must be continuous and non-overlapping.

    Sorted by min_score, each band must start right after the previous one ends
    (min = previous max + 1); only the highest band may be open-ended (max None).
    Raises ValidationError with one message per problem.
    """
    problems = []
    grades = [band["grade"] for band in bands]
    for grade in sorted({g for g in grades if grades.count(g) > 1}):
        problems.append(f"Grade {grade!r} is used by more than one band.")
    ordered = sorted(bands, key=lambda band: band["min_score"])
    for band in ordered:
        if band.get("max_score") is not None and band["max_score"] < band["min_score"]:
            problems.append(f"Band {band['grade']!r}: max_score is below min_score.")
    for lower, upper in zip(ordered, ordered[1:], strict=False):
        if lower.get("max_score") is None:
            problems.append(
                f"Band {lower['grade']!r} has no max_score but band {upper['grade']!r} starts above it; "
                "only the highest band may be open-ended."
            )
        elif upper["min_score"] <= lower["max_score"]:
            problems.append(f"Bands {lower['grade']!r} and {upper['grade']!r} overlap.")
        elif upper["min_score"] > lower["max_score"] + 1:
            problems.append(
                f"Gap between bands {lower['grade']!r} (up to {lower['max_score']}) and "
                f"{upper['grade']!r} (from {upper['min_score']}): bands must be continuous."
            )
    if problems:
        raise ValidationError(problems)


class ScoringRule(models.Model):
    """Points for a lead: per matching interaction of its parent contact, or once for a matching lead.

    An interaction rule has a kind (and optional property filters, blank = any); a condition rule has
    no kind and a `condition` in the segment tree format over the lead (see leadscoring/conditions.py).
    """

    model = models.ForeignKey(ScoringModel, on_delete=models.CASCADE, related_name="rules")
    name = models.CharField(max_length=200)
    interaction_kind = models.CharField(
        max_length=32,
        choices=InteractionKind.choices,
        null=True,
        blank=True,
        help_text="Blank for a rule on the lead or its contact (then set a condition).",
    )
    url_contains = models.CharField(
        max_length=500, blank=True, help_text="The interaction's url contains this."
    )
    email = models.CharField(max_length=200, blank=True, help_text="The interaction's email (name) is this.")
    form = models.CharField(max_length=200, blank=True, help_text="The interaction's form is this.")
    event = models.CharField(max_length=200, blank=True, help_text="The interaction's event is this.")
    points = models.IntegerField(help_text="Positive or negative.")
    max_count = models.PositiveIntegerField(
        null=True, blank=True, help_text="Count at most this many interactions (the newest)."
    )
    condition = models.JSONField(
        null=True, blank=True, help_text="Segment tree over the lead, e.g. its contact's job role."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["model", "id"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(interaction_kind__isnull=False) & Q(condition__isnull=True))
                | (Q(interaction_kind__isnull=True) & Q(condition__isnull=False)),
                name="scoring_rule_kind_xor_condition",
            ),
            models.CheckConstraint(
                condition=Q(max_count__isnull=True) | Q(max_count__gte=1),
                name="scoring_rule_max_count_positive",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.points:+d})"

    @property
    def is_condition_rule(self) -> bool:
        return self.interaction_kind is None

    def clean(self):
        from .conditions import condition_validate

        errors: dict[str, list] = {}
        if self.interaction_kind is None:
            if self.condition is None:
                errors["condition"] = ["A rule without an interaction kind needs a condition."]
            filters = [name for name in ("url_contains", "email", "form", "event") if getattr(self, name)]
            for name in filters:
                errors[name] = ["Property filters apply to interaction rules only."]
            if self.max_count is not None:
                errors["max_count"] = ["A cap applies to interaction rules only."]
        elif self.condition is not None:
            errors["condition"] = ["A rule has either an interaction kind or a condition, not both."]
        if self.max_count == 0:
            errors["max_count"] = ["Ensure this value is greater than or equal to 1."]
        if self.condition is not None:
            try:
                condition_validate(self.condition)
            except ValidationError as error:
                errors["condition"] = error.messages
        if errors:
            raise ValidationError(errors)


class HandoffState(models.TextChoices):
    ARMED = "", "Not handed off"
    HANDED_OFF = "handed_off", "Handed off to sales"
    RETURNED = "returned", "Fell below the threshold after a hand-off"


class LeadScore(models.Model):
    """One lead's score under one model. computed_at: the recompute that last changed score, grade or
    sales_ready (a recompute that finds them unchanged writes nothing, so the row keeps its time)."""

    # No index of their own: `lead_score_unique` (lead, model) and `lead_score_model_score` (model,
    # score) start with them and serve every lookup (and the cascades) by lead or by model.
    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="scores", db_index=False)
    model = models.ForeignKey(
        ScoringModel, on_delete=models.CASCADE, related_name="lead_scores", db_index=False
    )
    score = models.IntegerField(default=0)
    grade = models.CharField(max_length=8, blank=True)
    sales_ready = models.BooleanField(default=False)
    computed_at = models.DateTimeField()
    handoff_state = models.CharField(
        max_length=16, choices=HandoffState.choices, default=HandoffState.ARMED, blank=True
    )

    class Meta:
        ordering = ["model", "-score", "lead"]
        constraints = [models.UniqueConstraint(fields=["lead", "model"], name="lead_score_unique")]
        indexes = [models.Index(fields=["model", "score"], name="lead_score_model_score")]

    def __str__(self) -> str:
        return f"lead {self.lead_id} / {self.model_id}: {self.score}"


class CrossingDirection(models.TextChoices):
    UP = "up", "Became sales-ready (handed off)"
    DOWN = "down", "Fell below the threshold"


class SalesReadyCrossing(models.Model):
    """A lead's score crossed the model's threshold; recorded once per hand-off and once per return."""

    # No index of its own: `crossing_lead_model_at` (lead, model, crossed_at) starts with it.
    lead = models.ForeignKey(
        Lead, on_delete=models.CASCADE, related_name="sales_ready_crossings", db_index=False
    )
    model = models.ForeignKey(ScoringModel, on_delete=models.CASCADE, related_name="crossings")
    crossed_at = models.DateTimeField(db_index=True)
    direction = models.CharField(max_length=8, choices=CrossingDirection.choices)
    score = models.IntegerField()
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Who the lead was handed to (up crossings).",
    )

    class Meta:
        ordering = ["-crossed_at", "-id"]
        indexes = [models.Index(fields=["lead", "model", "crossed_at"], name="crossing_lead_model_at")]

    def __str__(self) -> str:
        return f"lead {self.lead_id} {self.direction} at {self.score}"
