"""The recompute and the explanation through the ORM, for databases other than PostgreSQL.

The embedded SQLite default runs this path; it gives what `sql.py` gives. It is set-based where SQLite
allows (per-contact counts with values().annotate(), upserts with bulk_create(update_conflicts=True);
crm_core's services are handed the rows for leads and their history); only the per-interaction
weights of linear and half-life decay are computed in Python (see `_decayed_points_in_python`). No
advisory lock: SQLite serialises writers, and the recompute's transaction starts IMMEDIATE
(config/settings.py), so it holds the database's write lock from its first statement and a full and
an incremental run never interleave. The tests run this path on PostgreSQL too and compare it with
the SQL (leadscoring/tests/test_portable.py).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, localcontext

from django.db.models import Count, Func, TextField, Value
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import StrIndex
from django.db.models.lookups import Exact, GreaterThan

from crm_core.models import Interaction, Lead
from crm_core.services import leads_scores_apply
from crm_core.signal_quality import UNSCORED

from ..conditions import condition_q
from ..models import DecayMode, HandoffState, LeadScore, ScoringModel, ScoringModelStatus, ScoringRule
from .handoff_portable import handoff_portable
from .outcome import RecomputeResult, grade_of
from .rows_portable import CHUNK, chunked, scoped

_LOWER_FUNCTION = "NURTURE_UNICODE_LOWER"
_MICROSECONDS_PER_DAY = Decimal(86_400 * 10**6)


# --- lower() as PostgreSQL has it ------------------------------------------------------------------


def _python_lower(value):
    if value is None:
        return None
    return (value if isinstance(value, str) else str(value)).lower()


def sqlite_functions_register(connection, **kwargs) -> None:
    """`connection_created` receiver: PostgreSQL's lower() (full Unicode) on SQLite connections."""
    if connection.vendor == "sqlite":
        connection.connection.create_function(_LOWER_FUNCTION, 1, _python_lower, deterministic=True)


class _Lower(Func):
    """lower() as PostgreSQL has it: SQLite's built-in lower() folds ASCII letters only."""

    function = "LOWER"
    output_field = TextField()

    def as_sqlite(self, compiler, connection, **extra_context):
        return super().as_sql(compiler, connection, function=_LOWER_FUNCTION, **extra_context)


# --- What each rule gives each lead ----------------------------------------------------------------


def matching_interactions(
    rule: ScoringRule, model: ScoringModel, now: datetime, contact_ids, *, counted_only: bool = True
):
    """The interactions a rule scores as of `now`: kind, property filters, not after now, the window;
    without `counted_only` also those marked unscored (repeats, machine traffic)."""
    interactions = Interaction.objects.filter(kind=rule.interaction_kind, occurred_at__lte=now)
    if counted_only:
        interactions = interactions.exclude(properties__has_key=UNSCORED)
    if model.decay_mode == DecayMode.WINDOW:
        interactions = interactions.filter(occurred_at__gte=now - timedelta(days=model.decay_days))
    elif model.decay_mode == DecayMode.LINEAR:  # weight 0 from N days on
        interactions = interactions.filter(occurred_at__gt=now - timedelta(days=model.decay_days))
    if rule.url_contains:
        url = _Lower(KeyTextTransform("url", "properties"))
        interactions = interactions.filter(GreaterThan(StrIndex(url, _Lower(Value(rule.url_contains))), 0))
    for name in ("email", "form", "event"):
        value = getattr(rule, name)
        if value:
            interactions = interactions.filter(
                Exact(_Lower(KeyTextTransform(name, "properties")), _Lower(Value(value)))
            )
    if contact_ids is not None:
        interactions = interactions.filter(contact_id__in=contact_ids)
    return interactions.order_by()


def _counted_points(interactions, rule: ScoringRule):
    """(contact_id, n, points) when every weight is 1 (no decay, window): counted in the database."""
    for contact_id, n in (
        interactions.values("contact_id").annotate(n=Count("id")).values_list("contact_id", "n")
    ):
        if rule.max_count is not None:
            n = min(n, rule.max_count)
        yield contact_id, n, n * rule.points


def _decayed_points_in_python(interactions, rule: ScoringRule, model: ScoringModel, now: datetime):
    """(contact_id, n, points) under linear or half-life decay, the weights computed in Python.

    Only this portable path does this: SQLite has no exact numeric type and no guaranteed power(),
    and the embedded default holds demo-sized data, so reading each matching interaction's time is
    fine. PostgreSQL computes the same weights in SQL (score_sql.py), in numeric; Decimal here, so the
    rounding of round(points * sum of weights) agrees. The cap keeps the newest (occurred_at, id).
    """
    weights: dict[int, list[Decimal]] = defaultdict(list)
    rows = interactions.order_by("contact_id", "-occurred_at", "-id").values_list("contact_id", "occurred_at")
    with localcontext() as context:
        context.prec = 40
        days = Decimal(model.decay_days)
        for contact_id, occurred_at in rows:
            kept = weights[contact_id]
            if rule.max_count is not None and len(kept) >= rule.max_count:
                continue
            age = now - occurred_at
            microseconds = (age.days * 86_400 + age.seconds) * 10**6 + age.microseconds
            age_days = max(Decimal(microseconds) / _MICROSECONDS_PER_DAY, Decimal(0))
            if model.decay_mode == DecayMode.LINEAR:
                kept.append(max(1 - age_days / days, Decimal(0)))
            else:
                kept.append(Decimal("0.5") ** (age_days / days))
        for contact_id, kept in weights.items():
            points = (sum(kept, Decimal(0)) * rule.points).quantize(Decimal(1), rounding=ROUND_HALF_UP)
            yield contact_id, len(kept), int(points)


def _contributions_portable(
    model: ScoringModel, rules: list[ScoringRule], now: datetime, lead_ids: list[int] | None
) -> list[tuple[int, int, int, int]]:
    """Rows (lead_id, rule_id, n, points), as the SQL's contributions give them."""
    contact_leads: dict[int, list[int]] = defaultdict(list)
    for lead_id, contact_id in scoped(
        Lead.objects.filter(parent_contact__isnull=False).values_list("pk", "parent_contact_id"),
        lead_ids,
        field="pk",
    ):
        contact_leads[contact_id].append(lead_id)
    contact_ids = sorted(contact_leads) if lead_ids is not None else None
    rows: list[tuple[int, int, int, int]] = []
    for rule in rules:
        if rule.is_condition_rule:
            matched = Lead.objects.filter(condition_q(rule.condition)).values_list("pk", flat=True)
            rows.extend((lead_id, rule.pk, 1, rule.points) for lead_id in scoped(matched, lead_ids, "pk"))
            continue
        if not contact_leads:
            continue
        chunks = [None] if contact_ids is None else list(chunked(contact_ids))
        for chunk in chunks:
            interactions = matching_interactions(rule, model, now, chunk)
            if model.decay_mode in (DecayMode.LINEAR, DecayMode.HALF_LIFE):
                per_contact = _decayed_points_in_python(interactions, rule, model, now)
            else:
                per_contact = _counted_points(interactions, rule)
            for contact_id, n, points in per_contact:
                rows.extend((lead_id, rule.pk, n, points) for lead_id in contact_leads.get(contact_id, ()))
    return rows


# --- Recompute and explanation ---------------------------------------------------------------------


def recompute_portable(*, model: ScoringModel, lead_ids: list[int] | None, now: datetime) -> RecomputeResult:
    """`scoring_model_recompute` through the ORM (inside its transaction; `lead_ids` sorted, not empty)."""
    model = ScoringModel.objects.get(pk=model.pk)  # the state as of the write lock
    rules = list(model.rules.order_by("pk"))
    bands = list(model.grade_bands.order_by("-min_score"))
    in_scope = scoped(Lead.objects.values_list("pk", flat=True), lead_ids, "pk")
    scores: dict[int, int] = dict.fromkeys(in_scope, 0)
    for lead_id, _, _, points in _contributions_portable(model, rules, now, lead_ids):
        scores[lead_id] += points
    computed = {
        lead_id: (score, grade_of(score, bands), score >= model.sales_ready_threshold)
        for lead_id, score in scores.items()
    }
    stored = {
        lead_id: (score, grade, ready)
        for lead_id, score, grade, ready in scoped(
            LeadScore.objects.filter(model=model).values_list("lead_id", "score", "grade", "sales_ready"),
            lead_ids,
        )
    }
    changed = {lead_id: values for lead_id, values in computed.items() if stored.get(lead_id) != values}
    LeadScore.objects.bulk_create(
        [
            LeadScore(
                lead_id=lead_id,
                model=model,
                score=score,
                grade=grade,
                sales_ready=ready,
                computed_at=now,
                handoff_state=HandoffState.ARMED,
            )
            for lead_id, (score, grade, ready) in changed.items()
        ],
        update_conflicts=True,
        unique_fields=["lead", "model"],
        update_fields=["score", "grade", "sales_ready", "computed_at"],
        batch_size=CHUNK,
    )
    result = RecomputeResult(leads_scored=len(computed), scores_changed=len(changed))
    if model.is_primary and model.status == ScoringModelStatus.LIVE:
        leads_scores_apply(scores=[(pk, *values) for pk, values in computed.items()])
        result.returned, result.handed_off = handoff_portable(model=model, lead_ids=lead_ids, now=now)
    return result


def explain_rows_portable(
    model: ScoringModel, rules: list[ScoringRule], now: datetime, lead_ids: list[int]
) -> list[tuple[int, int, int, int]]:
    """(lead_id, rule_id, count, points) per lead (in the order given) and rule that gives it anything."""
    rows = []
    for lead_id in lead_ids:
        by_rule: dict[int, list[int]] = {}
        for _, rule_id, n, points in _contributions_portable(model, rules, now, [lead_id]):
            total = by_rule.setdefault(rule_id, [0, 0])
            total[0] += n
            total[1] += points
        rows.extend((lead_id, rule_id, n, points) for rule_id, (n, points) in sorted(by_rule.items()))
    return rows
