"""The SQL of a score on PostgreSQL: what every rule gives every contact, in ONE scan of the interactions.

`contact_points_sql` reads the interactions the model's interaction rules can match (their kinds, not
after `now`, not marked unscored, within the decay window) once and aggregates per contact, each rule
with its own `FILTER (WHERE <the rule matches>)`:

- weight 1 (no decay, window): a rule's count is `count(*) FILTER (...)`, capped with LEAST(count, cap),
  and its points count * points;
- linear and half-life decay: the weight of each interaction is computed in the scan (numeric); a rule's
  points are round(points * sum of weights) (half away from zero). A capped rule keeps its newest
  `max_count` matches (occurred_at, then id): a running `count(*) FILTER (...)` over the contact's
  interactions newest first numbers each rule's matches; all capped rules share that one window (one
  sort), which only exists when some capped rule has decaying weights.

The result has one row per contact with an interaction of a rule's kind: (contact_id, points), and
for the explanation (n_<k>, p_<k>) per rule k, n the count the rule counted and p its points (the
recompute only needs the total, so rules with weight 1 and no cap share one aggregate there).
`condition_leads_sql` gives each condition rule's leads (the ORM-compiled Lead queryset) and
`grade_case_sql` the grade of a score from the bands (`outcome.band_ranges`).
"""

from __future__ import annotations

from datetime import datetime

from django.db.models.expressions import RawSQL

from crm_core.models import Interaction, Lead
from crm_core.signal_quality import UNSCORED

from ..conditions import condition_q
from ..models import DecayMode, GradeBand, ScoringModel, ScoringRule
from .outcome import band_ranges

LEAD = Lead._meta.db_table
_INTERACTION = Interaction._meta.db_table


def _decay_weight_sql(model: ScoringModel, now: datetime) -> tuple[str | None, list, str, list]:
    """(weight expression or None for weight 1, its params, extra WHERE on occurred_at, its params)."""
    age_days = "GREATEST(EXTRACT(EPOCH FROM (%s::timestamptz - i.occurred_at)) / 86400.0, 0)"
    days = model.decay_days
    if model.decay_mode == DecayMode.WINDOW:
        return None, [], "AND i.occurred_at >= %s::timestamptz - make_interval(days => %s)", [now, days]
    if model.decay_mode == DecayMode.LINEAR:
        return (
            f"GREATEST(1.0 - {age_days} / %s, 0)",
            [now, days],
            "AND i.occurred_at > %s::timestamptz - make_interval(days => %s)",
            [now, days],
        )
    if model.decay_mode == DecayMode.HALF_LIFE:
        return f"power(0.5, {age_days} / %s)", [now, days], "", []
    return None, [], "", []


def _rule_match_sql(rule: ScoringRule) -> tuple[str, list]:
    """The condition under which interaction `i` matches the rule: its kind and each property filter set
    (url contains, case-insensitively; email, form and event equal, case-insensitively)."""
    where = ["i.kind = %s"]
    params: list = [rule.interaction_kind]
    if rule.url_contains:
        where.append("strpos(lower(i.properties ->> 'url'), lower(%s)) > 0")
        params.append(rule.url_contains)
    for name in ("email", "form", "event"):
        value = getattr(rule, name)
        if value:
            where.append(f"lower(i.properties ->> '{name}') = lower(%s)")
            params.append(value)
    return " AND ".join(where), params


def contact_points_sql(
    model: ScoringModel,
    rules: list[ScoringRule],
    now: datetime,
    lead_ids: list[int] | None,
    *,
    per_rule: bool = False,
) -> tuple[str, list]:
    """Rows (contact_id, points) per contact with an interaction of a kind of `rules` (interaction
    rules, in this order), over every contact or the parent contacts of `lead_ids`; with `per_rule`
    also (n_<k>, p_<k>) per rule k: the matches it counted and its points."""
    weight, weight_params, window, window_params = _decay_weight_sql(model, now)
    ranked = [k for k, rule in enumerate(rules) if rule.max_count is not None and weight is not None]
    columns, params = ["i.contact_id"], []
    if weight is not None:
        columns += ["i.occurred_at", "i.id", f"{weight} AS w"]
        params += weight_params
    for k, rule in enumerate(rules):
        match, match_params = _rule_match_sql(rule)
        columns.append(f"({match}) AS m{k}")
        params += match_params
    scope = ""
    scope_params: list = []
    if lead_ids is not None:
        scope = f"AND i.contact_id IN (SELECT parentcontactid FROM {LEAD} WHERE id = ANY(%s))"
        scope_params = [list(lead_ids)]
    scanned = f"""
        SELECT {", ".join(columns)}
        FROM {_INTERACTION} i
        WHERE i.kind = ANY(%s) AND i.occurred_at <= %s AND NOT (i.properties ? '{UNSCORED}')
          {window} {scope}"""
    params += [sorted({rule.interaction_kind for rule in rules}), now, *window_params, *scope_params]
    if ranked:
        # The k-th match of a rule, newest first: the running count of its matches up to this row.
        numbered = ", ".join(f"count(*) FILTER (WHERE f.m{k}) OVER newest_first AS r{k}" for k in ranked)
        scanned = f"""
        SELECT f.*, {numbered} FROM ({scanned}) f
        WINDOW newest_first AS (
            PARTITION BY f.contact_id ORDER BY f.occurred_at DESC, f.id DESC ROWS UNBOUNDED PRECEDING)"""
    aggregates, aggregate_params, outputs = _aggregates(
        rules, ranked, weighted=weight is not None, per_rule=per_rule
    )
    sql = f"""
        SELECT a.contact_id, {outputs}
        FROM (SELECT r.contact_id, {aggregates} FROM ({scanned}) r GROUP BY r.contact_id) a"""
    return sql, [*aggregate_params, *params]


def _aggregates(
    rules: list[ScoringRule], ranked: list[int], *, weighted: bool, per_rule: bool
) -> tuple[str, list, str]:
    """(the GROUP BY's aggregates, their params, the outputs computed from them as `a.*`).

    Per rule k `n<k>` (the matches counted) and `p<k>` (its points, never NULL). Without `per_rule`,
    the rules with weight 1 and no cap share one `sum` of their points instead (one aggregate state
    per contact rather than one per rule: the hash table of ~600k contacts at 1M stays in work_mem).
    """
    summed = [] if per_rule or weighted else [k for k, rule in enumerate(rules) if rule.max_count is None]
    columns, params, points = [], [], []
    if summed:
        columns.append(f"sum({' + '.join(f'CASE WHEN r.m{k} THEN %s ELSE 0 END' for k in summed)}) AS s")
        params += [rules[k].points for k in summed]
        points.append("a.s")
    for k, rule in enumerate(rules):
        if k in summed:
            continue
        counted, counted_params = f"r.m{k}", []
        if k in ranked:
            counted, counted_params = f"{counted} AND r.r{k} <= %s", [rule.max_count]
        n, n_params = f"count(*) FILTER (WHERE {counted})", counted_params
        if rule.max_count is not None and k not in ranked:  # weight 1: the newest `cap` count
            n, n_params = f"LEAST({n}, %s)", [*n_params, rule.max_count]
        if weighted:
            p = f"round((COALESCE(sum(r.w) FILTER (WHERE {counted}), 0) * %s)::numeric)::int"
            p_params = [*counted_params, rule.points]
        else:
            p, p_params = f"({n} * %s)::int", [*n_params, rule.points]
        if per_rule:
            columns.append(f"{n}::int AS n{k}, {p} AS p{k}")
            params += [*n_params, *p_params]
        else:
            columns.append(f"{p} AS p{k}")
            params += p_params
        points.append(f"a.p{k}")
    outputs = f"({' + '.join(points)})::int AS points"
    if per_rule:
        outputs += "".join(f", a.n{k}, a.p{k}" for k in range(len(rules)))
    return ", ".join(columns), params, outputs


def condition_leads_sql(rule: ScoringRule, lead_ids: list[int] | None) -> tuple[str, list]:
    """SELECT of the ids of the leads that match the condition rule (among `lead_ids` if given)."""
    leads = Lead.objects.filter(condition_q(rule.condition)).order_by()
    if lead_ids is not None:
        # One array parameter, not one placeholder per id (batches hold thousands of leads).
        leads = leads.filter(pk__in=RawSQL("SELECT unnest(%s::bigint[])", (list(lead_ids),)))
    return leads.values("pk").query.sql_with_params()


def grade_case_sql(bands: list[GradeBand], score: str) -> tuple[str, list]:
    """The grade of the score expression `score` as a CASE over the bands (`outcome.band_ranges`)."""
    ranges = band_ranges(bands)
    if not ranges:
        return "''", []
    cases, params = [], []
    for grade, low, high in ranges:
        if high is None:
            cases.append(f"WHEN {score} >= %s THEN %s")
            params.extend([low, grade])
        else:
            cases.append(f"WHEN {score} BETWEEN %s AND %s THEN %s")
            params.extend([low, high, grade])
    return f"CASE {' '.join(cases)} ELSE '' END", params
