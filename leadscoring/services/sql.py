"""The recompute and the explanation on PostgreSQL: a handful of SQL statements whatever the number of leads.

What each rule gives each contact is one scan of the interactions (`score_sql.contact_points_sql`).
A full recompute materialises it into an analysed temp table, so the planner joins ~all leads with the
real number of contacts instead of a guess, and runs without plain index scans (it reads most of
every table it touches); a recompute of some leads (a batch of the incremental drain) reads it
inline. The score of a lead is its contact's points plus its condition rules' points; one INSERT
... ON CONFLICT writes the rows that are new or whose score, grade or sales_ready changed
(`IS DISTINCT FROM` the stored row), so a recompute with nothing changed writes nothing. All under a
per-model advisory lock, so a full and an incremental run never interleave. For the primary live
model crm_core copies the scores onto the leads (again only where they differ) and the hand-off runs
(`handoff_sql.py`).
"""

from __future__ import annotations

from contextlib import contextmanager
from datetime import datetime

from django.db import connection

from crm_core.models import Contact
from crm_core.services import SqlRows, leads_scores_apply

from ..models import HandoffState, LeadScore, ScoringModel, ScoringModelStatus, ScoringRule
from .handoff_sql import handoff_sql
from .outcome import RecomputeResult
from .score_sql import LEAD, condition_leads_sql, contact_points_sql, grade_case_sql

_SCORE = LeadScore._meta.db_table
_CONTACT = Contact._meta.db_table
_CONTACT_POINTS = "_leadscoring_contact_points"  # temp table of a full recompute, dropped at commit
_ADVISORY_NAMESPACE = 6_0006  # pg_advisory_xact_lock(namespace, model id)


# --- Locks -----------------------------------------------------------------------------------------


def _lock_model(model: ScoringModel) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [_ADVISORY_NAMESPACE, model.pk])


def _lock_people(lead_ids: list[int]) -> int:
    """Take a person's rows in the one order every writer uses: contacts, then leads, by id (the
    score rows follow). Landing holds a contact FOR UPDATE while it writes that person's lead, so
    rescoring first waits on the contact instead of holding the lead it needs; two statements,
    whatever the number of leads. A full recompute (every lead) does not pre-lock: its rare overlaps
    with a form post are deadlocks the task retries. Returns the leads locked (those that exist)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT c.id FROM {_CONTACT} c"
            f" WHERE c.id IN (SELECT parentcontactid FROM {LEAD} WHERE id = ANY(%s))"
            " ORDER BY c.id FOR KEY SHARE OF c",
            [lead_ids],
        )
        cursor.execute(
            f"SELECT l.id FROM {LEAD} l WHERE l.id = ANY(%s) ORDER BY l.id FOR NO KEY UPDATE OF l",
            [lead_ids],
        )
        return cursor.rowcount


# --- Recompute and explanation ---------------------------------------------------------------------


def recompute_sql(*, model: ScoringModel, lead_ids: list[int] | None, now: datetime) -> RecomputeResult:
    """`scoring_model_recompute` on PostgreSQL (inside its transaction; `lead_ids` sorted, not empty)."""
    _lock_model(model)
    result = RecomputeResult()
    if lead_ids is not None:
        result.leads_scored = _lock_people(lead_ids)
    model = ScoringModel.objects.get(pk=model.pk)  # the state as of the lock
    with connection.cursor() as cursor:
        with _without_plain_index_scans(cursor, full=lead_ids is None):
            if lead_ids is None:
                cursor.execute(f"SELECT count(*) FROM {LEAD}")
                result.leads_scored = cursor.fetchone()[0]
            result.scores_changed = _scores_upsert(cursor, model=model, lead_ids=lead_ids, now=now)
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


def _contact_points(cursor, model: ScoringModel, rules: list[ScoringRule], now, lead_ids) -> tuple[str, list]:
    """The relation (contact_id, points, ...) of the interaction rules, and its params: for a full
    recompute an analysed temp table of the contacts with points, else the SELECT itself."""
    interaction_rules = [rule for rule in rules if not rule.is_condition_rule]
    if not interaction_rules:
        return "(SELECT NULL::bigint AS contact_id, 0 AS points WHERE FALSE)", []
    sql, params = contact_points_sql(model, interaction_rules, now, lead_ids)
    if lead_ids is not None:
        return f"({sql})", params
    cursor.execute(
        f"DROP TABLE IF EXISTS {_CONTACT_POINTS};"
        f" CREATE TEMP TABLE {_CONTACT_POINTS} ON COMMIT DROP AS"
        f" SELECT cp.contact_id, cp.points FROM ({sql}) cp WHERE cp.points <> 0;"
        f" ANALYZE {_CONTACT_POINTS}",
        params,
    )
    return _CONTACT_POINTS, []


@contextmanager
def _without_plain_index_scans(cursor, *, full: bool):
    """A full recompute's statements read most of each table they touch (the interactions of the
    window, every lead, the model's score rows); the planner, at a low random_page_cost, still prices
    a plain index scan (one heap visit per row, in index order) below a bitmap or sequential scan,
    as it does not count the per-row heap access (EXPLAIN ANALYZE at 100,000 contacts: the
    interactions 1.0-1.9 s by index against 0.2-0.35 s by bitmap; the score rows 0.25-0.3 s by
    `(model_id, score)` against ~0.05 s sequentially). So no plain index scans inside this block
    (SET LOCAL, set back at its end; a failed statement rolls the setting back with it)."""
    if not full:
        yield
        return
    cursor.execute("SELECT current_setting('enable_indexscan')")
    enable_indexscan = cursor.fetchone()[0]
    cursor.execute("SET LOCAL enable_indexscan = off")
    yield
    cursor.execute("SELECT set_config('enable_indexscan', %s, true)", [enable_indexscan])


def _scores_upsert(cursor, *, model: ScoringModel, lead_ids: list[int] | None, now: datetime) -> int:
    """Write the score, grade and sales_ready of every lead (or of `lead_ids`) where they are new or
    differ from the stored row, in one INSERT ... ON CONFLICT; returns the rows written.

    The rows are not sorted: a model's score rows are written only under its advisory lock (and by
    the hand-off in the same transaction), so the order of their row locks cannot deadlock, and
    sorting the ~1M changed rows of a first recompute at 1M contacts would spill past work_mem."""
    rules = list(model.rules.order_by("pk"))
    bands = list(model.grade_bands.order_by("-min_score"))
    contact_points, contact_params = _contact_points(cursor, model, rules, now, lead_ids)
    # Each condition rule: its leads joined to the lead, its points added where one matched.
    condition_joins, condition_join_params, condition_points, condition_points_params = "", [], "", []
    for k, rule in enumerate(rule for rule in rules if rule.is_condition_rule):
        sql, params = condition_leads_sql(rule, lead_ids)
        condition_joins += f" LEFT JOIN ({sql}) c{k}(id) ON c{k}.id = l.id"
        condition_join_params += params
        condition_points += f" + CASE WHEN c{k}.id IS NULL THEN 0 ELSE %s END"
        condition_points_params.append(rule.points)
    grade, grade_params = grade_case_sql(bands, "t.score")
    scope = "WHERE l.id = ANY(%s)" if lead_ids is not None else ""
    cursor.execute(
        f"""
        INSERT INTO {_SCORE} (lead_id, model_id, score, grade, sales_ready, computed_at, handoff_state)
        SELECT n.id, %s, n.score, n.grade, n.sales_ready, %s, %s
        FROM (
            SELECT t.id, t.score, {grade} AS grade, t.score >= %s AS sales_ready
            FROM (
                SELECT l.id, (COALESCE(cp.points, 0){condition_points})::int AS score
                FROM {LEAD} l
                LEFT JOIN {contact_points} cp ON cp.contact_id = l.parentcontactid{condition_joins}
                {scope}
            ) t
        ) n
        LEFT JOIN {_SCORE} s ON s.lead_id = n.id AND s.model_id = %s
        WHERE (s.score, s.grade, s.sales_ready) IS DISTINCT FROM (n.score, n.grade, n.sales_ready)
        ON CONFLICT (lead_id, model_id) DO UPDATE SET
            score = EXCLUDED.score, grade = EXCLUDED.grade,
            sales_ready = EXCLUDED.sales_ready, computed_at = EXCLUDED.computed_at
        """,
        [
            model.pk,
            now,
            HandoffState.ARMED.value,
            *grade_params,
            model.sales_ready_threshold,
            *condition_points_params,
            *contact_params,
            *condition_join_params,
            *([lead_ids] if lead_ids is not None else []),
            model.pk,
        ],
    )
    return cursor.rowcount


def explain_rows_sql(
    model: ScoringModel, rules: list[ScoringRule], now: datetime, lead_ids: list[int]
) -> list[tuple[int, int, int, int]]:
    """(lead_id, rule_id, count, points) per lead and rule that gives it anything, by lead then rule:
    the recompute's per-rule parts restricted to `lead_ids`, in one query."""
    lead_ids = list(lead_ids)
    parts, params = [], []
    interaction_rules = [rule for rule in rules if not rule.is_condition_rule]
    if interaction_rules:
        sql, contact_params = contact_points_sql(model, interaction_rules, now, lead_ids, per_rule=True)
        values = ", ".join(f"(%s::bigint, cp.n{k}, cp.p{k})" for k in range(len(interaction_rules)))
        parts.append(
            f"""SELECT l.id, v.rule_id, v.n, v.points
            FROM ({sql}) cp
            JOIN {LEAD} l ON l.parentcontactid = cp.contact_id AND l.id = ANY(%s)
            CROSS JOIN LATERAL (VALUES {values}) v(rule_id, n, points)
            WHERE v.n > 0"""
        )
        params += [*contact_params, lead_ids, *[rule.pk for rule in interaction_rules]]
    for rule in rules:
        if rule.is_condition_rule:
            sql, condition_params = condition_leads_sql(rule, lead_ids)
            parts.append(f"SELECT matched.id, %s::bigint, 1, %s FROM ({sql}) matched(id)")
            params += [rule.pk, rule.points, *condition_params]
    if not parts:
        return []
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM ({' UNION ALL '.join(parts)}) c ORDER BY 1, 2", params)
        return cursor.fetchall()
