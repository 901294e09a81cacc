"""Lead scoring writes: set-based recompute, the sales-ready hand-off, and the hook for new interactions.

How a score is made (one model, one lead, as of `now`):

- Interaction rules score the lead's PARENT CONTACT's interactions (an orphan lead has none: 0 points
  from them). An interaction matches a rule when its kind is the rule's and each property filter that
  is set matches (url contains, case-insensitively; email, form and event equal, case-insensitively).
  Interactions after `now` do not count.
- Decay gives each interaction a weight from its age in days: none 1; window 1 within the last N days,
  else 0; linear max(0, 1 - age/N); half-life 0.5^(age/N).
- Cap: of the matching interactions that still carry weight, only the NEWEST `max_count` count
  (ordered by occurred_at, then id). So a capped rule counts the freshest activity.
- A rule's contribution is round(points * sum of weights) (half away from zero), a whole number,
  so the explanation's per-rule points add up exactly to the score.
- Condition rules give their points once if the lead matches the condition (leadscoring.conditions).
- score = sum of contributions; grade = the band the score falls in ('' if none);
  sales_ready = score >= the model's threshold.

On PostgreSQL a recompute is a handful of SQL statements whatever the number of leads (all of them, or
`lead_ids`), under a per-model advisory lock so a full and an incremental run never interleave. Other
databases (the embedded SQLite default) take the portable ORM path (`_recompute_portable`), same results.

Lead scoring writes its own tables (scores, crossings) and nothing of crm_core's: the lead's copy of
score / grade / sales_ready, the hand-off's status and owner, the return to nurture and their
LeadStatusChange rows are written by `crm_core.services.scores`, which announces the changed leads
(`crm_core.events`) so live segments hear of them. On PostgreSQL it is handed SQL over the score
table or this module's temp tables (`SqlRows`), so the statements stay set-based; the portable path
hands it the rows.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, localcontext

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMessage, get_connection
from django.db import connection, transaction
from django.db.models import Count, Func, Max, Q, TextField, Value
from django.db.models.expressions import RawSQL
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Coalesce, StrIndex
from django.db.models.lookups import Exact, GreaterThan
from django.urls import reverse
from django.utils import timezone

from crm_core.models import Account, Contact, Interaction, Lead, LeadStatus
from crm_core.roles import SALES
from crm_core.services import SqlRows, leads_hand_off, leads_return_to_nurture, leads_scores_apply
from crm_core.signal_quality import MACHINE, OVER_CAP, REASONS, REPEAT, UNSCORED

from .conditions import condition_q
from .models import (
    CrossingDirection,
    DecayMode,
    GradeBand,
    HandoffState,
    LeadScore,
    SalesReadyCrossing,
    ScoringModel,
    ScoringModelStatus,
    ScoringRule,
)

logger = logging.getLogger(__name__)

_LEAD = Lead._meta.db_table
_INTERACTION = Interaction._meta.db_table
_SCORE = LeadScore._meta.db_table
_CROSSING = SalesReadyCrossing._meta.db_table
_ACCOUNT = Account._meta.db_table
_CONTACT = Contact._meta.db_table
_ADVISORY_NAMESPACE = 6_0006  # pg_advisory_xact_lock(namespace, model id)


@dataclass
class RecomputeResult:
    leads_scored: int = 0
    handed_off: int = 0
    returned: int = 0


# --- The SQL of a score --------------------------------------------------------------------------


def _decay(model: ScoringModel, now: datetime) -> tuple[str, list, str, list]:
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
    weight, weight_params, window, window_params = _decay(model, now)
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


def _band_ranges(bands: list[GradeBand]) -> list[tuple[str, int, int | None]]:
    """(grade, min, max or None) in the order they are tried: the first band a score falls in wins.

    The one definition of band -> grade: `_grade_sql` writes it as a CASE, `_grade_of` in Python.
    """
    return [(band.grade, band.min_score, band.max_score) for band in bands]


def _grade_sql(bands: list[GradeBand]) -> tuple[str, list]:
    ranges = _band_ranges(bands)
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


def _grade_of(score: int, bands: list[GradeBand]) -> str:
    for grade, low, high in _band_ranges(bands):
        if score >= low and (high is None or score <= high):
            return grade
    return ""


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


def _set_based_sql() -> bool:
    """PostgreSQL runs the SQL above; other databases (the embedded SQLite default) the portable path."""
    return connection.vendor == "postgresql"


# --- Recompute ------------------------------------------------------------------------------------


@transaction.atomic
def scoring_model_recompute(
    *, model: ScoringModel, lead_ids: Iterable[int] | None = None, now: datetime | None = None
) -> RecomputeResult:
    """Recompute the scores of all leads (or of `lead_ids`) under `model`, as of `now`.

    Upserts the score table; for the primary model also has crm_core copy score, grade and sales_ready
    onto the leads (only where they changed) and runs the sales-ready hand-off (see `_handoff`). PostgreSQL
    runs the set-based SQL below; other databases (the embedded SQLite default) `_recompute_portable`.
    """
    now = now or timezone.now()
    if lead_ids is not None:
        lead_ids = sorted(set(lead_ids))
        if not lead_ids:
            return RecomputeResult()
    if not _set_based_sql():
        return _recompute_portable(model=model, lead_ids=lead_ids, now=now)
    _lock_model(model)
    if lead_ids is not None:
        _lock_people(lead_ids)
    model = ScoringModel.objects.get(pk=model.pk)  # the state as of the lock
    rules = list(model.rules.order_by("pk"))
    bands = list(model.grade_bands.order_by("-min_score"))
    contributions, contribution_params = _contributions_sql(model, rules, now, lead_ids)
    grade, grade_params = _grade_sql(bands)
    scope = "WHERE l.id = ANY(%s)" if lead_ids is not None else ""
    scope_params = [lead_ids] if lead_ids is not None else []
    result = RecomputeResult()
    with connection.cursor() as cursor:
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
                *scope_params,
            ],
        )
        result.leads_scored = cursor.rowcount
        if model.is_primary and model.status == ScoringModelStatus.LIVE:
            score_scope = "AND s.lead_id = ANY(%s)" if lead_ids is not None else ""
            leads_scores_apply(
                scores=SqlRows(
                    f"SELECT s.lead_id, s.score, s.grade, s.sales_ready FROM {_SCORE} s"
                    f" WHERE s.model_id = %s {score_scope}",
                    [model.pk, *scope_params],
                )
            )
            result.returned, result.handed_off = _handoff(cursor, model=model, lead_ids=lead_ids, now=now)
    return result


def scoring_models_recompute_live(*, now: datetime | None = None) -> dict[int, RecomputeResult]:
    """Full recompute of every live model (the daily decay run); each model in its own transaction."""
    return {
        model.pk: scoring_model_recompute(model=model, now=now)
        for model in ScoringModel.objects.filter(status=ScoringModelStatus.LIVE).order_by("pk")
    }


def scoring_model_schedule_recompute(*, model: ScoringModel) -> None:
    """Recompute the model in the worker once the current transaction commits."""
    from .tasks import scoring_model_recompute_task

    model_id = model.pk
    transaction.on_commit(lambda: scoring_model_recompute_task.delay(model_id=model_id))


def lead_score_explain(
    *, lead: Lead, model: ScoringModel | None = None, now: datetime | None = None
) -> list[dict]:
    """The rules that give `lead` points under `model` (default: the primary model) as of `now`.

    [{"rule_id", "rule", "points", "count"}], computed by the same SQL as the recompute restricted to
    this lead, so the points add up to the score a recompute at `now` gives (on other databases by
    the same code as `_recompute_portable`).
    """
    if model is None:
        model = ScoringModel.objects.filter(is_primary=True).first()
        if model is None:
            return []
    now = now or timezone.now()
    rules = list(model.rules.order_by("pk"))
    if not _set_based_sql():
        rows = _explain_rows_portable(model, rules, now, lead.pk)
    else:
        sql, params = _contributions_sql(model, rules, now, [lead.pk])
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT c.rule_id, sum(c.n), sum(c.points) FROM ({sql}) c"
                " GROUP BY c.rule_id ORDER BY c.rule_id",
                params,
            )
            rows = cursor.fetchall()
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
        totals = _matching_interactions(
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
    if _set_based_sql():
        sql, params = _contributions_sql(model, rules, now, list(lead_ids))
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT c.lead_id, c.rule_id, sum(c.n), sum(c.points) FROM ({sql}) c"
                " GROUP BY c.lead_id, c.rule_id ORDER BY c.lead_id, c.rule_id",
                params,
            )
            rows = cursor.fetchall()
    else:
        rows = [
            (lead_id, rule_id, n, points)
            for lead_id in lead_ids
            for rule_id, n, points in _explain_rows_portable(model, rules, now, lead_id)
        ]
    out: dict[int, list[dict]] = defaultdict(list)
    for lead_id, rule_id, count, points in rows:
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


# --- The sales-ready hand-off ----------------------------------------------------------------------
# Lead scoring decides who crosses (its score table's handoff_state) and to which owner (round-robin);
# crm_core.services.scores moves the leads (leads_hand_off, leads_return_to_nurture).
# Per lead and primary model, LeadScore.handoff_state:
#   ''          (armed)       -> score >= threshold and lead status new/nurture: HAND OFF
#                                (marketing_qualified, owner, an 'up' crossing, one email to the owner)
#   handed_off                -> score < threshold: an 'down' crossing; a lead still marketing_qualified
#                                (sales has not accepted it) goes back to nurture
#   returned                  -> score < threshold - margin: armed again. While 'returned' a score that
#                                wobbles back over the threshold hands nothing off and records nothing.


def _handoff(cursor, *, model: ScoringModel, lead_ids, now: datetime) -> tuple[int, int]:
    threshold = model.sales_ready_threshold
    rearm_below = threshold - model.handoff_rearm_margin
    scope = "AND s.lead_id = ANY(%s)" if lead_ids is not None else ""
    scope_params = [lead_ids] if lead_ids is not None else []
    nurture = LeadStatus.NURTURE.value

    # 1. Handed-off leads that fell below the threshold: a 'down' crossing each; crm_core sends
    #    those still marketing_qualified back to nurture.
    cursor.execute(
        f"""
        CREATE TEMP TABLE IF NOT EXISTS _leadscoring_down (lead_id bigint PRIMARY KEY) ON COMMIT DELETE ROWS;
        DELETE FROM _leadscoring_down;
        WITH down AS (
            UPDATE {_SCORE} s SET handoff_state = CASE WHEN s.score < %s THEN %s ELSE %s END
            WHERE s.model_id = %s AND s.handoff_state = %s AND s.score < %s {scope}
            RETURNING s.lead_id, s.score
        ), recorded AS (
            INSERT INTO {_CROSSING} (lead_id, model_id, crossed_at, direction, score)
            SELECT lead_id, %s, %s, %s, score FROM down
        )
        INSERT INTO _leadscoring_down (lead_id) SELECT lead_id FROM down
        """,
        [
            rearm_below,
            HandoffState.ARMED.value,
            HandoffState.RETURNED.value,
            model.pk,
            HandoffState.HANDED_OFF.value,
            threshold,
            *scope_params,
            model.pk,
            now,
            CrossingDirection.DOWN.value,
        ],
    )
    returned = leads_return_to_nurture(
        leads=SqlRows("_leadscoring_down"), reason=_reason_down(model), now=now
    )
    # 2. Returned leads that fell far enough: armed again.
    cursor.execute(
        f"UPDATE {_SCORE} s SET handoff_state = %s"
        f" WHERE s.model_id = %s AND s.handoff_state = %s AND s.score < %s {scope}",
        [HandoffState.ARMED.value, model.pk, HandoffState.RETURNED.value, rearm_below, *scope_params],
    )
    # 3. Armed leads at or over the threshold whose status allows it: hand off. Leads are locked in id
    #    order; the owner is the lead's own, else its account's, else its contact's account's, else the
    #    sales user assigned least recently (round-robin, ties by user id).
    sales_users = _sales_user_ids()
    user_table = get_user_model()._meta.db_table
    cursor.execute(
        f"""
        CREATE TEMP TABLE IF NOT EXISTS _leadscoring_handoff
            (lead_id bigint PRIMARY KEY, from_status varchar(32), owner_id integer, score integer, rr bigint)
            ON COMMIT DELETE ROWS;
        DELETE FROM _leadscoring_handoff;
        INSERT INTO _leadscoring_handoff (lead_id, from_status, owner_id, score, rr)
        SELECT p.id, p.status, p.owner_id, p.score,
               CASE WHEN p.owner_id IS NULL
                    THEN row_number() OVER (PARTITION BY p.owner_id IS NULL ORDER BY p.id) END
        FROM (
            SELECT l.id, l.status, COALESCE(l.owner_id, la.owner_id, ca.owner_id) AS owner_id, s.score
            FROM {_SCORE} s
            JOIN {_LEAD} l ON l.id = s.lead_id
            LEFT JOIN {_ACCOUNT} la ON la.id = l.parent_account_id
            LEFT JOIN {_CONTACT} c ON c.id = l.parentcontactid
            LEFT JOIN {_ACCOUNT} ca ON ca.id = c.parent_account_id
            WHERE s.model_id = %s AND s.handoff_state = %s AND s.score >= %s
              AND l.status IN (%s, %s) {scope}
            ORDER BY l.id
            FOR UPDATE OF l, s
        ) p
        """,
        [model.pk, HandoffState.ARMED.value, threshold, LeadStatus.NEW.value, nurture, *scope_params],
    )
    if sales_users:
        cursor.execute(
            f"""
            WITH ranked AS (
                SELECT u.id, row_number() OVER (ORDER BY last.at NULLS FIRST, u.id) - 1 AS k
                FROM {user_table} u
                LEFT JOIN (SELECT owner_id, max(crossed_at) AS at FROM {_CROSSING}
                           WHERE direction = %s AND owner_id IS NOT NULL GROUP BY owner_id) last
                  ON last.owner_id = u.id
                WHERE u.id = ANY(%s)
            )
            UPDATE _leadscoring_handoff h SET owner_id = ranked.id
            FROM ranked WHERE h.owner_id IS NULL AND ranked.k = (h.rr - 1) %% %s
            """,
            [CrossingDirection.UP.value, sales_users, len(sales_users)],
        )
    leads_hand_off(
        leads=SqlRows("SELECT lead_id, from_status, owner_id FROM _leadscoring_handoff"),
        reason=_reason_up(model),
        now=now,
    )
    _handoff_tasks_create(
        SqlRows(
            "SELECT owner_id, NULL::bigint, lead_id FROM _leadscoring_handoff WHERE owner_id IS NOT NULL"
        ),
        now=now,
    )
    cursor.execute(
        f"""
        WITH crossed AS (
            INSERT INTO {_CROSSING} (lead_id, model_id, crossed_at, direction, score, owner_id)
            SELECT lead_id, %s, %s, %s, score, owner_id FROM _leadscoring_handoff
        )
        UPDATE {_SCORE} s SET handoff_state = %s
        FROM _leadscoring_handoff h WHERE s.lead_id = h.lead_id AND s.model_id = %s
        """,
        [model.pk, now, CrossingDirection.UP.value, HandoffState.HANDED_OFF.value, model.pk],
    )
    handed_off = cursor.rowcount
    if handed_off:
        cursor.execute(
            "SELECT owner_id, lead_id FROM _leadscoring_handoff WHERE owner_id IS NOT NULL ORDER BY lead_id"
        )
        _handoff_emails_on_commit(cursor.fetchall(), model=model)
    return returned, handed_off


def _handoff_tasks_create(targets, *, now: datetime) -> None:
    """The owner's "call within 24 h" task for each lead handed over, through the sales app (which
    also puts the hand-off in the owner's notifications)."""
    from sales.services import HANDOFF_TASK_DUE, HANDOFF_TASK_TITLE, tasks_create

    tasks_create(
        title=HANDOFF_TASK_TITLE,
        description="The lead reached the sales-ready score; call within 24 hours.",
        due_at=now + HANDOFF_TASK_DUE,
        source="handoff",
        targets=targets,
        now=now,
    )


def _reason_down(model: ScoringModel) -> str:
    return (
        f"Score fell below the sales-ready threshold ({model.sales_ready_threshold}) "
        f"of scoring model '{model.name}'."
    )


def _reason_up(model: ScoringModel) -> str:
    return (
        f"Score reached the sales-ready threshold ({model.sales_ready_threshold}) "
        f"of scoring model '{model.name}'."
    )


def _sales_user_ids() -> list[int]:
    """The round-robin pool: active users in the sales group, by id."""
    return list(
        get_user_model()
        .objects.filter(groups__name=SALES, is_active=True)
        .order_by("pk")
        .values_list("pk", flat=True)
        .distinct()
    )


def _handoff_emails_on_commit(owner_leads: Iterable[tuple[int, int]], *, model: ScoringModel) -> None:
    """After commit, one email per owner with their leads; `owner_leads`: (owner_id, lead_id), lead order."""
    by_owner: dict[int, list[int]] = defaultdict(list)
    for owner_id, lead_id in owner_leads:
        by_owner[owner_id].append(lead_id)
    if not by_owner:
        return
    model_name = model.name
    transaction.on_commit(lambda: handoff_emails_send(by_owner=dict(by_owner), model_name=model_name))


# --- The portable path (SQLite, the embedded default) ---------------------------------------------
# The same recompute, explanation and hand-off through the ORM, for databases other than PostgreSQL.
# It is set-based where SQLite allows (per-contact counts with values().annotate(), upserts with
# bulk_create(update_conflicts=True), bulk_update, bulk_create of crossings; crm_core's services are
# handed the rows for leads and their history); only the per-interaction weights of linear and
# half-life decay are computed in Python (see `_decayed_points_in_python`). No advisory lock: SQLite
# serialises writers, and the recompute's transaction starts IMMEDIATE (config/settings.py), so it
# holds the database's write lock from its first statement and a full and an incremental run never
# interleave. The tests run this path on PostgreSQL too and compare it with the SQL (test_portable.py).

_CHUNK = 500  # ids per `IN (...)`: SQLite limits the parameters of one statement
_LOWER_FUNCTION = "NURTURE_UNICODE_LOWER"
# Who a handed-off lead goes to, before the round-robin: the first of these that is set.
HANDOFF_OWNER_FALLBACK = ("owner", "parent_account__owner", "parent_contact__parent_account__owner")


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


def _chunked(ids: list[int]):
    for start in range(0, len(ids), _CHUNK):
        yield ids[start : start + _CHUNK]


def _scoped(queryset, ids: list[int] | None, field: str = "lead_id") -> list:
    """The queryset's rows, restricted to `field` in `ids` (None: all), read a chunk at a time.

    `ids` are sorted, so a queryset ordered by `field` comes back in that order.
    """
    if ids is None:
        return list(queryset)
    return [row for chunk in _chunked(ids) for row in queryset.filter(**{f"{field}__in": chunk})]


def _update_scoped(queryset, ids: list[int] | None, field: str = "lead_id", **values) -> int:
    if ids is None:
        return queryset.update(**values)
    return sum(queryset.filter(**{f"{field}__in": chunk}).update(**values) for chunk in _chunked(ids))


def _matching_interactions(
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


_MICROSECONDS_PER_DAY = Decimal(86_400 * 10**6)


def _decayed_points_in_python(interactions, rule: ScoringRule, model: ScoringModel, now: datetime):
    """(contact_id, n, points) under linear or half-life decay, the weights computed in Python.

    Only this portable path does this: SQLite has no exact numeric type and no guaranteed power(),
    and the embedded default holds demo-sized data, so reading each matching interaction's time is
    fine. PostgreSQL computes the same weights in SQL (`_decay`), in numeric; Decimal here, so the
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
    """Rows (lead_id, rule_id, n, points), as `_contributions_sql` gives them."""
    contact_leads: dict[int, list[int]] = defaultdict(list)
    for lead_id, contact_id in _scoped(
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
            rows.extend((lead_id, rule.pk, 1, rule.points) for lead_id in _scoped(matched, lead_ids, "pk"))
            continue
        if not contact_leads:
            continue
        chunks = [None] if contact_ids is None else list(_chunked(contact_ids))
        for chunk in chunks:
            interactions = _matching_interactions(rule, model, now, chunk)
            if model.decay_mode in (DecayMode.LINEAR, DecayMode.HALF_LIFE):
                per_contact = _decayed_points_in_python(interactions, rule, model, now)
            else:
                per_contact = _counted_points(interactions, rule)
            for contact_id, n, points in per_contact:
                rows.extend((lead_id, rule.pk, n, points) for lead_id in contact_leads.get(contact_id, ()))
    return rows


def _explain_rows_portable(model: ScoringModel, rules: list[ScoringRule], now: datetime, lead_id: int):
    """(rule_id, count, points) per rule that gives the lead anything, in rule order."""
    by_rule: dict[int, list[int]] = {}
    for _, rule_id, n, points in _contributions_portable(model, rules, now, [lead_id]):
        total = by_rule.setdefault(rule_id, [0, 0])
        total[0] += n
        total[1] += points
    return [(rule_id, n, points) for rule_id, (n, points) in sorted(by_rule.items())]


@transaction.atomic
def _recompute_portable(
    *, model: ScoringModel, lead_ids: Iterable[int] | None, now: datetime
) -> RecomputeResult:
    """`scoring_model_recompute` through the ORM (the embedded SQLite default); same results."""
    if lead_ids is not None:
        lead_ids = sorted(set(lead_ids))
    model = ScoringModel.objects.get(pk=model.pk)  # the state as of the write lock
    rules = list(model.rules.order_by("pk"))
    bands = list(model.grade_bands.order_by("-min_score"))
    in_scope = _scoped(Lead.objects.values_list("pk", flat=True), lead_ids, "pk")
    scores: dict[int, int] = dict.fromkeys(in_scope, 0)
    for lead_id, _, _, points in _contributions_portable(model, rules, now, lead_ids):
        scores[lead_id] += points
    computed = {
        lead_id: (score, _grade_of(score, bands), score >= model.sales_ready_threshold)
        for lead_id, score in scores.items()
    }
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
            for lead_id, (score, grade, ready) in computed.items()
        ],
        update_conflicts=True,
        unique_fields=["lead", "model"],
        update_fields=["score", "grade", "sales_ready", "computed_at"],
        batch_size=_CHUNK,
    )
    result = RecomputeResult(leads_scored=len(computed))
    if model.is_primary and model.status == ScoringModelStatus.LIVE:
        leads_scores_apply(scores=[(pk, *values) for pk, values in computed.items()])
        result.returned, result.handed_off = _handoff_portable(model=model, lead_ids=lead_ids, now=now)
    return result


def _handoff_portable(*, model: ScoringModel, lead_ids: list[int] | None, now: datetime) -> tuple[int, int]:
    """`_handoff` through the ORM: the same three steps, the same owners, history and crossings."""
    threshold = model.sales_ready_threshold
    rearm_below = threshold - model.handoff_rearm_margin
    scores = LeadScore.objects.filter(model=model)

    # 1. Handed-off leads that fell below the threshold.
    down = _scoped(
        scores.filter(handoff_state=HandoffState.HANDED_OFF, score__lt=threshold).order_by("lead_id"),
        lead_ids,
    )
    for row in down:
        row.handoff_state = HandoffState.ARMED if row.score < rearm_below else HandoffState.RETURNED
    LeadScore.objects.bulk_update(down, ["handoff_state"], batch_size=_CHUNK)
    SalesReadyCrossing.objects.bulk_create(
        [
            SalesReadyCrossing(
                lead_id=row.lead_id,
                model=model,
                crossed_at=now,
                direction=CrossingDirection.DOWN,
                score=row.score,
            )
            for row in down
        ],
        batch_size=_CHUNK,
    )
    returned = leads_return_to_nurture(
        leads=[row.lead_id for row in down], reason=_reason_down(model), now=now
    )
    # 2. Returned leads that fell far enough: armed again.
    _update_scoped(
        scores.filter(handoff_state=HandoffState.RETURNED, score__lt=rearm_below),
        lead_ids,
        handoff_state=HandoffState.ARMED,
    )
    # 3. Armed leads at or over the threshold whose status allows it: hand off, in lead id order; the
    #    owner by HANDOFF_OWNER_FALLBACK, else round-robin over the sales users assigned least recently.
    candidates = _scoped(
        scores.filter(
            handoff_state=HandoffState.ARMED,
            score__gte=threshold,
            lead__status__in=[LeadStatus.NEW, LeadStatus.NURTURE],
        )
        .order_by("lead_id")
        .values_list(
            "lead_id",
            "lead__status",
            Coalesce(*(f"lead__{path}" for path in HANDOFF_OWNER_FALLBACK)),
            "score",
        ),
        lead_ids,
    )
    if not candidates:
        return returned, 0
    owners = {lead_id: owner_id for lead_id, _, owner_id, _ in candidates}
    sales_users = _sales_user_ids()
    unowned = [lead_id for lead_id, _, owner_id, _ in candidates if owner_id is None]
    if sales_users and unowned:
        last = dict(
            SalesReadyCrossing.objects.filter(direction=CrossingDirection.UP, owner_id__in=sales_users)
            .values("owner_id")
            .annotate(at=Max("crossed_at"))
            .values_list("owner_id", "at")
        )
        # Never assigned first, then the oldest last assignment; ties by user id.
        ranked = sorted(sales_users, key=lambda user_id: (user_id in last, last.get(user_id, now), user_id))
        for k, lead_id in enumerate(unowned):
            owners[lead_id] = ranked[k % len(ranked)]
    leads_hand_off(
        leads=[(lead_id, status, owners[lead_id]) for lead_id, status, _, _ in candidates],
        reason=_reason_up(model),
        now=now,
    )
    from sales.services import TaskTarget

    _handoff_tasks_create(
        [
            TaskTarget(owner_id=owners[lead_id], lead_id=lead_id)
            for lead_id, *_ in candidates
            if owners[lead_id]
        ],
        now=now,
    )
    SalesReadyCrossing.objects.bulk_create(
        [
            SalesReadyCrossing(
                lead_id=lead_id,
                model=model,
                crossed_at=now,
                direction=CrossingDirection.UP,
                score=score,
                owner_id=owners[lead_id],
            )
            for lead_id, _, _, score in candidates
        ],
        batch_size=_CHUNK,
    )
    handed = [lead_id for lead_id, *_ in candidates]
    _update_scoped(scores, handed, handoff_state=HandoffState.HANDED_OFF)
    _handoff_emails_on_commit(
        [(owners[lead_id], lead_id) for lead_id in handed if owners[lead_id] is not None], model=model
    )
    return returned, len(handed)


HANDOFF_EMAIL_MAX_LEADS = 50


def handoff_emails_send(*, by_owner: dict[int, list[int]], model_name: str) -> int:
    """One email per owner listing the leads just handed to them; returns the emails sent."""
    from sales.services import users_wanting_email

    site = settings.SITE_URL
    wanted = users_wanting_email("handoff", by_owner)
    owners = get_user_model().objects.filter(pk__in=sorted(wanted)).exclude(email="")
    messages = []
    for owner in owners:
        lead_ids = by_owner[owner.pk]
        leads = Lead.objects.filter(pk__in=lead_ids[:HANDOFF_EMAIL_MAX_LEADS]).order_by("pk")
        lines = [
            f"- {lead} (score {lead.score}): {site}{reverse('workspace:lead-detail', args=[lead.pk])}"
            for lead in leads
        ]
        if len(lead_ids) > HANDOFF_EMAIL_MAX_LEADS:
            lines.append(f"... and {len(lead_ids) - HANDOFF_EMAIL_MAX_LEADS} more.")
        count = len(lead_ids)
        subject = f"{count} new sales-ready lead{'s' if count != 1 else ''} for you"
        body = f"Scoring model '{model_name}' handed these leads to you:\n\n" + "\n".join(lines) + "\n"
        messages.append(EmailMessage(subject, body, settings.DEFAULT_FROM_EMAIL, [owner.email]))
    if not messages:
        return 0
    try:
        return get_connection().send_messages(messages) or 0
    except Exception:  # the hand-off is committed; a mail failure must not undo it
        logger.exception("could not send %d hand-off email(s)", len(messages))
        return 0


# --- Incremental: the hook for new interactions --------------------------------------------------
# Other apps call `interactions_recorded(contact_ids=...)` after creating interactions (inside their
# transaction or not). Once that transaction commits, the contact ids join a Redis set and one
# coalescing task is scheduled (a Redis flag keeps it to one pending task); the task drains the set in
# batches and recomputes those contacts' leads under every live model. A burst of 10,000 interactions
# is a few batched recomputes, not 10,000 tasks. Without Redis (the embedded default) each call
# enqueues its own task with the ids.


def _key(name: str) -> str:
    """A Redis key of lead scoring, under the cache's key prefix (one per installation or test run)."""
    return f"{settings.CACHES['default'].get('KEY_PREFIX', '')}leadscoring:{name}"


def pending_contacts_key() -> str:
    return _key("pending-contacts")


def drain_scheduled_key() -> str:
    return _key("drain-scheduled")


COALESCE_SECONDS = getattr(settings, "LEADSCORING_COALESCE_SECONDS", 2)
DRAIN_BATCH_SIZE = getattr(settings, "LEADSCORING_DRAIN_BATCH_SIZE", 5_000)


def _redis():
    import redis

    return redis.Redis.from_url(settings.REDIS_URL)


def interactions_recorded(*, contact_ids: Iterable[int]) -> None:
    """Tell lead scoring that these contacts have new interactions; their leads are rescored soon.

    Call it after creating interactions; the work is queued when the current transaction commits.
    """
    ids = sorted({int(pk) for pk in contact_ids})
    if not ids:
        return
    from .tasks import contacts_rescore_task, interactions_rescore_pending_task

    def enqueue() -> None:
        if not settings.REDIS_URL:
            contacts_rescore_task.delay(contact_ids=ids)
            return
        client = _redis()
        client.sadd(pending_contacts_key(), *ids)
        if client.set(drain_scheduled_key(), 1, nx=True, ex=max(60, COALESCE_SECONDS * 10)):
            interactions_rescore_pending_task.apply_async(countdown=COALESCE_SECONDS)

    transaction.on_commit(enqueue)


def contacts_rescore(*, contact_ids: Iterable[int], now: datetime | None = None) -> int:
    """Recompute, under every live model, the leads of these contacts; returns the leads rescored."""
    lead_ids = list(Lead.objects.filter(parent_contact_id__in=list(contact_ids)).values_list("pk", flat=True))
    if not lead_ids:
        return 0
    for model in ScoringModel.objects.filter(status=ScoringModelStatus.LIVE).order_by("pk"):
        scoring_model_recompute(model=model, lead_ids=lead_ids, now=now)
    return len(lead_ids)


def pending_contacts_drain(*, batch_size: int = DRAIN_BATCH_SIZE, now: datetime | None = None) -> int:
    """Rescore the leads of every contact in the pending set, a batch at a time; returns contacts done.

    A batch that fails goes back into the set before the error propagates (the task retries).
    """
    client = _redis()
    client.delete(drain_scheduled_key())  # ids arriving from now on schedule another drain
    done = 0
    while True:
        popped = client.spop(pending_contacts_key(), batch_size)
        if not popped:
            return done
        ids = sorted(int(pk) for pk in popped)
        try:
            contacts_rescore(contact_ids=ids, now=now)
        except Exception:
            client.sadd(pending_contacts_key(), *ids)
            raise
        done += len(ids)


# --- Editing models -------------------------------------------------------------------------------

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
