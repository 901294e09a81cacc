"""Why a lead has its score: the points each rule gives it, and what matched but was not counted.

The rows come from the recompute's own contributions restricted to the leads asked about (the SQL of
`sql.py` on PostgreSQL, the ORM of `portable.py` elsewhere), so the points add up to the score a
recompute at the same `now` gives.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from django.db.models import Count, Q
from django.utils import timezone

from crm_core import sqlpath
from crm_core.models import Lead
from crm_core.signal_quality import MACHINE, OVER_CAP, REASONS, REPEAT, UNSCORED

from ..models import ScoringModel, ScoringRule
from .portable import explain_rows_portable, matching_interactions
from .sql import explain_rows_sql


def _explain_rows(model: ScoringModel, rules: list[ScoringRule], now: datetime, lead_ids: list[int]):
    """(lead_id, rule_id, count, points) per lead and rule that gives it anything."""
    if sqlpath.postgres_sql():
        return explain_rows_sql(model, rules, now, lead_ids)
    return explain_rows_portable(model, rules, now, lead_ids)


def lead_score_explain(
    *, lead: Lead, model: ScoringModel | None = None, now: datetime | None = None
) -> list[dict]:
    """The rules that give `lead` points under `model` (default: the primary model) as of `now`.

    [{"rule_id", "rule", "points", "count", "not_counted"}] in rule order, computed by the same code
    as the recompute restricted to this lead, so the points add up to the score a recompute at `now`
    gives.
    """
    if model is None:
        model = ScoringModel.objects.filter(is_primary=True).first()
        if model is None:
            return []
    now = now or timezone.now()
    rules = list(model.rules.order_by("pk"))
    rows = [(rule_id, n, points) for _, rule_id, n, points in _explain_rows(model, rules, now, [lead.pk])]
    return _explanation(rules, rows, _not_counted(model, rules, now, lead, rows))


def _not_counted(model: ScoringModel, rules: list[ScoringRule], now: datetime, lead: Lead, rows) -> dict:
    """Per interaction rule, what matched but gave nothing: {rule_id: {reason: count}}.

    Reasons: `repeat` and `machine` (marked when recorded, crm_core.signal_quality) and `over_cap`
    (counted-eligible interactions beyond the rule's cap). One aggregate per rule of the lead's model.
    """
    if lead.parent_contact_id is None:
        return {}
    counted = {rule_id: int(n) for rule_id, n, _ in rows}
    result = {}
    for rule in rules:
        if rule.is_condition_rule:
            continue
        totals = matching_interactions(
            rule, model, now, [lead.parent_contact_id], counted_only=False
        ).aggregate(
            total=Count("id"),
            **{
                reason: Count("id", filter=Q(**{f"properties__{UNSCORED}": reason}))
                for reason in (REPEAT, MACHINE)
            },
        )
        eligible = totals["total"] - totals[REPEAT] - totals[MACHINE]
        reasons = {
            REPEAT: totals[REPEAT],
            MACHINE: totals[MACHINE],
            OVER_CAP: eligible - counted.get(rule.pk, 0),
        }
        reasons = {reason: n for reason, n in reasons.items() if n > 0}
        if reasons:
            result[rule.pk] = reasons
    return result


def _explanation(rules: list[ScoringRule], rows, not_counted: dict) -> list[dict]:
    """The explanation in rule order: (rule_id, count, points) rows, plus what each rule did not count
    and why (rules that only have uncounted matches appear with 0 points)."""
    names = {rule.pk: rule.name for rule in rules}
    scored = {rule_id: (int(count), int(points)) for rule_id, count, points in rows}
    return [
        {
            "rule_id": rule.pk,
            "rule": names[rule.pk],
            "points": scored.get(rule.pk, (0, 0))[1],
            "count": scored.get(rule.pk, (0, 0))[0],
            "not_counted": [
                {"reason": reason, "count": n, "why": REASONS[reason]}
                for reason, n in not_counted.get(rule.pk, {}).items()
            ],
        }
        for rule in rules
        if rule.pk in scored or rule.pk in not_counted
    ]


def leads_score_explain(
    *, lead_ids: list[int], model: ScoringModel | None = None, now: datetime | None = None
) -> dict[int, list[dict]]:
    """`lead_score_explain` for many leads at once (one query on PostgreSQL): {lead_id: rows}, each
    row also carrying its `rule_obj` (the ScoringRule, for wording the reason)."""
    if model is None:
        model = ScoringModel.objects.filter(is_primary=True).first()
    if model is None or not lead_ids:
        return {}
    now = now or timezone.now()
    rules = list(model.rules.order_by("pk"))
    by_id = {rule.pk: rule for rule in rules}
    out: dict[int, list[dict]] = defaultdict(list)
    for lead_id, rule_id, count, points in _explain_rows(model, rules, now, list(lead_ids)):
        out[lead_id].append(
            {
                "rule_id": rule_id,
                "rule": by_id[rule_id].name,
                "rule_obj": by_id[rule_id],
                "points": int(points),
                "count": int(count),
            }
        )
    return dict(out)
