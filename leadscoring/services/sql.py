"""The recompute and the explanation on PostgreSQL: a handful of SQL statements whatever the number of leads.

The contributions (what each rule gives each lead) are one SELECT: per interaction rule a grouped scan
of the interactions by kind (and window, so the `(kind, occurred_at)` index applies), the decay weight
computed in SQL and `row_number()` for capped rules; per condition rule the ORM-compiled Lead
queryset's SQL. The recompute upserts their sums into the score table under a per-model advisory lock
(so a full and an incremental run never interleave); for the primary live model crm_core copies the
scores onto the leads from SQL over the score table and the hand-off runs (`handoff_sql.py`).
"""

from __future__ import annotations

from datetime import datetime

from django.db import connection
from django.db.models.expressions import RawSQL

from crm_core.models import Contact, Interaction, Lead
from crm_core.services import SqlRows, leads_scores_apply
from crm_core.signal_quality import UNSCORED

from ..conditions import condition_q
from ..models import (
    DecayMode,
    GradeBand,
    HandoffState,
    LeadScore,
    ScoringModel,
    ScoringModelStatus,
    ScoringRule,
)
from .handoff_sql import handoff_sql
from .outcome import RecomputeResult, band_ranges

_LEAD = Lead._meta.db_table
_INTERACTION = Interaction._meta.db_table
_SCORE = LeadScore._meta.db_table
_CONTACT = Contact._meta.db_table
_ADVISORY_NAMESPACE = 6_0006  # pg_advisory_xact_lock(namespace, model id)


# --- The SQL of a score --------------------------------------------------------------------------


def _decay_weight_sql(model: ScoringModel, now: datetime) -> tuple[str, list, str, list]:
    """(weight expression, its params, extra WHERE on occurred_at, its params) for the model's decay."""
    age_days = "GREATEST(EXTRACT(EPOCH FROM (%s::timestamptz - i.occurred_at)) / 86400.0, 0)"
    days = model.decay_days
    if model.decay_mode == DecayMode.WINDOW:
        return "1.0", [], "AND i.occurred_at >= %s::timestamptz - make_interval(days => %s)", [now, days]
    if model.decay_mode == DecayMode.LINEAR:
        return (
            f"GREATEST(1.0 - {age_days} / %s, 0)",
            [now, days],
            "AND i.occurred_at > %s::timestamptz - make_interval(days => %s)",
            [now, days],
        )
    if model.decay_mode == DecayMode.HALF_LIFE:
        return f"power(0.5, {age_days} / %s)", [now, days], "", []
    return "1.0", [], "", []


def _rule_sql(rule: ScoringRule, model: ScoringModel, now: datetime, lead_ids) -> tuple[str, list]:
    """Per parent contact: (contact_id, rule_id, count, points) of one interaction rule."""
    weight, weight_params, window, window_params = _decay_weight_sql(model, now)
    where = ["i.kind = %s", "i.occurred_at <= %s", f"(i.properties ->> '{UNSCORED}') IS NULL"]
    params: list = [rule.interaction_kind, now]
    if rule.url_contains:
        where.append("strpos(lower(i.properties ->> 'url'), lower(%s)) > 0")
        params.append(rule.url_contains)
    for name in ("email", "form", "event"):
        value = getattr(rule, name)
        if value:
            where.append(f"lower(i.properties ->> '{name}') = lower(%s)")
            params.append(value)
    if lead_ids is not None:
        where.append(f"i.contact_id IN (SELECT parentcontactid FROM {_LEAD} WHERE id = ANY(%s))")
        params.append(list(lead_ids))
    ranked = ""
    capped = ""
    if rule.max_count is not None:
        ranked = (
            ", row_number() OVER (PARTITION BY i.contact_id ORDER BY i.occurred_at DESC, i.id DESC) AS rn"
        )
        capped = "WHERE m.rn <= %s"
    sql = f"""
        SELECT m.contact_id, %s::bigint AS rule_id, count(*)::int AS n,
               round((sum(m.w) * %s)::numeric)::int AS points
        FROM (
            SELECT i.contact_id, {weight} AS w{ranked}
            FROM {_INTERACTION} i
            WHERE {" AND ".join(where)} {window}
        ) m {capped}
        GROUP BY m.contact_id"""
    all_params = [rule.pk, rule.points, *weight_params, *params, *window_params]
    if capped:
        all_params.append(rule.max_count)
    return sql, all_params


def _contributions_sql(
    model: ScoringModel, rules: list[ScoringRule], now: datetime, lead_ids
) -> tuple[str, list]:
    """Rows (lead_id, rule_id, n, points): what each rule gives each lead (all leads, or `lead_ids`)."""
    parts: list[str] = []
    params: list = []
    interaction_rules = [rule for rule in rules if not rule.is_condition_rule]
    if interaction_rules:
        per_contact = []
        for rule in interaction_rules:
            sql, rule_params = _rule_sql(rule, model, now, lead_ids)
            per_contact.append(sql)
            params.extend(rule_params)
        scope = "WHERE l.id = ANY(%s)" if lead_ids is not None else ""
        parts.append(
            f"""SELECT l.id AS lead_id, c.rule_id, c.n, c.points
            FROM ({" UNION ALL ".join(per_contact)}) c
            JOIN {_LEAD} l ON l.parentcontactid = c.contact_id {scope}"""
        )
        if lead_ids is not None:
            params.append(list(lead_ids))
    for rule in rules:
        if not rule.is_condition_rule:
            continue
        leads = Lead.objects.filter(condition_q(rule.condition))
        if lead_ids is not None:
            # One array parameter, not one placeholder per id (batches hold thousands of leads).
            leads = leads.filter(pk__in=RawSQL("SELECT unnest(%s::bigint[])", (list(lead_ids),)))
        sql, cond_params = leads.values("pk").query.sql_with_params()
        parts.append(
            "SELECT matched.id AS lead_id, %s::bigint AS rule_id, 1 AS n, %s AS points"
            f" FROM ({sql}) matched(id)"
        )
        params.extend([rule.pk, rule.points, *cond_params])
    if not parts:
        return "SELECT NULL::bigint AS lead_id, NULL::bigint AS rule_id, 0 AS n, 0 AS points WHERE FALSE", []
    return " UNION ALL ".join(parts), params


def _grade_case_sql(bands: list[GradeBand]) -> tuple[str, list]:
    """The grade of the score `s.score` as a CASE over the bands (`outcome.band_ranges`)."""
    ranges = band_ranges(bands)
    if not ranges:
        return "''", []
    cases, params = [], []
    for grade, low, high in ranges:
        if high is None:
            cases.append("WHEN s.score >= %s THEN %s")
            params.extend([low, grade])
        else:
            cases.append("WHEN s.score BETWEEN %s AND %s THEN %s")
            params.extend([low, high, grade])
    return f"CASE {' '.join(cases)} ELSE '' END", params


# --- Locks -----------------------------------------------------------------------------------------


def _lock_model(model: ScoringModel) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [_ADVISORY_NAMESPACE, model.pk])


def _lock_people(lead_ids: list[int]) -> None:
    """Take a person's rows in the one order every writer uses: contacts, then leads, by id (the
    score rows follow, upserted in lead order). Landing holds a contact FOR UPDATE while it writes
    that person's lead, so rescoring first waits on the contact instead of holding the lead it
    needs; two statements, whatever the number of leads. A full recompute (every lead) does not
    pre-lock: its rare overlaps with a form post are deadlocks the task retries."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT c.id FROM {_CONTACT} c"
            f" WHERE c.id IN (SELECT parentcontactid FROM {_LEAD} WHERE id = ANY(%s))"
            " ORDER BY c.id FOR KEY SHARE OF c",
            [lead_ids],
        )
        cursor.execute(
            f"SELECT l.id FROM {_LEAD} l WHERE l.id = ANY(%s) ORDER BY l.id FOR NO KEY UPDATE OF l",
            [lead_ids],
        )


# --- Recompute and explanation ---------------------------------------------------------------------


def recompute_sql(*, model: ScoringModel, lead_ids: list[int] | None, now: datetime) -> RecomputeResult:
    """`scoring_model_recompute` on PostgreSQL (inside its transaction; `lead_ids` sorted, not empty)."""
    _lock_model(model)
    if lead_ids is not None:
        _lock_people(lead_ids)
    model = ScoringModel.objects.get(pk=model.pk)  # the state as of the lock
    result = RecomputeResult()
    with connection.cursor() as cursor:
        result.leads_scored = _scores_upsert(cursor, model=model, lead_ids=lead_ids, now=now)
        if model.is_primary and model.status == ScoringModelStatus.LIVE:
            score_scope = "AND s.lead_id = ANY(%s)" if lead_ids is not None else ""
            leads_scores_apply(
                scores=SqlRows(
                    f"SELECT s.lead_id, s.score, s.grade, s.sales_ready FROM {_SCORE} s"
                    f" WHERE s.model_id = %s {score_scope}",
                    [model.pk, *([lead_ids] if lead_ids is not None else [])],
                )
            )
            result.returned, result.handed_off = handoff_sql(cursor, model=model, lead_ids=lead_ids, now=now)
    return result


def _scores_upsert(cursor, *, model: ScoringModel, lead_ids: list[int] | None, now: datetime) -> int:
    """One INSERT ... ON CONFLICT of every lead's (or `lead_ids`') score, grade and sales_ready."""
    rules = list(model.rules.order_by("pk"))
    bands = list(model.grade_bands.order_by("-min_score"))
    contributions, contribution_params = _contributions_sql(model, rules, now, lead_ids)
    grade, grade_params = _grade_case_sql(bands)
    scope = "WHERE l.id = ANY(%s)" if lead_ids is not None else ""
    cursor.execute(
        f"""
        INSERT INTO {_SCORE} (lead_id, model_id, score, grade, sales_ready, computed_at, handoff_state)
        SELECT s.id, %s, s.score, {grade}, s.score >= %s, %s, %s
        FROM (
            SELECT l.id, COALESCE(t.score, 0)::int AS score
            FROM {_LEAD} l
            LEFT JOIN (
                SELECT c.lead_id, sum(c.points) AS score FROM ({contributions}) c GROUP BY c.lead_id
            ) t
              ON t.lead_id = l.id
            {scope}
            ORDER BY l.id
        ) s
        ON CONFLICT (lead_id, model_id) DO UPDATE SET
            score = EXCLUDED.score, grade = EXCLUDED.grade,
            sales_ready = EXCLUDED.sales_ready, computed_at = EXCLUDED.computed_at
        """,
        [
            model.pk,
            *grade_params,
            model.sales_ready_threshold,
            now,
            HandoffState.ARMED.value,
            *contribution_params,
            *([lead_ids] if lead_ids is not None else []),
        ],
    )
    return cursor.rowcount


def explain_rows_sql(
    model: ScoringModel, rules: list[ScoringRule], now: datetime, lead_ids: list[int]
) -> list[tuple[int, int, int, int]]:
    """(lead_id, rule_id, count, points) per lead and rule that gives it anything, by lead then rule:
    the recompute's contributions restricted to `lead_ids`, in one query."""
    sql, params = _contributions_sql(model, rules, now, list(lead_ids))
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT c.lead_id, c.rule_id, sum(c.n), sum(c.points) FROM ({sql}) c"
            " GROUP BY c.lead_id, c.rule_id ORDER BY c.lead_id, c.rule_id",
            params,
        )
        return cursor.fetchall()
