"""The sales-ready hand-off on PostgreSQL: set-based statements over the score table and two temp tables.

The three steps of `handoff.py`, each a few statements whatever the number of leads: the leads that
return and those handed off are collected in temp tables (`_leadscoring_down`, `_leadscoring_handoff`,
emptied at commit) that crm_core's services and the notice to sales read as `SqlRows`, so no lead id
leaves the database on the way.
"""

from __future__ import annotations

from datetime import datetime

from django.contrib.auth import get_user_model

from crm_core.models import Account, Contact, Lead, LeadStatus
from crm_core.services import SqlRows, leads_hand_off, leads_return_to_nurture

from ..models import CrossingDirection, HandoffState, LeadScore, SalesReadyCrossing, ScoringModel
from .handoff import handed_off_announce, reason_down, reason_up, sales_user_ids

_LEAD = Lead._meta.db_table
_SCORE = LeadScore._meta.db_table
_CROSSING = SalesReadyCrossing._meta.db_table
_ACCOUNT = Account._meta.db_table
_CONTACT = Contact._meta.db_table


def _scope(lead_ids: list[int] | None) -> tuple[str, list]:
    """The restriction of a statement over the score table `s` to `lead_ids` (None: every lead)."""
    if lead_ids is None:
        return "", []
    return "AND s.lead_id = ANY(%s)", [lead_ids]


def handoff_sql(cursor, *, model: ScoringModel, lead_ids: list[int] | None, now: datetime) -> tuple[int, int]:
    """Run the hand-off's three steps for `model` (all leads, or `lead_ids`); (returned, handed off)."""
    returned = _return_fallen(cursor, model=model, lead_ids=lead_ids, now=now)
    _rearm(cursor, model=model, lead_ids=lead_ids)
    _candidates_collect(cursor, model=model, lead_ids=lead_ids)
    _owners_round_robin(cursor)
    leads_hand_off(
        leads=SqlRows("SELECT lead_id, from_status, owner_id FROM _leadscoring_handoff"),
        reason=reason_up(model),
        now=now,
    )
    handed_off = _handed_off_record(cursor, model=model, now=now)
    if handed_off:
        handed_off_announce(
            model=model,
            now=now,
            owner_leads=SqlRows(
                "SELECT owner_id, lead_id FROM _leadscoring_handoff WHERE owner_id IS NOT NULL"
            ),
        )
    return returned, handed_off


def _return_fallen(cursor, *, model: ScoringModel, lead_ids: list[int] | None, now: datetime) -> int:
    """Step 1. Handed-off leads that fell below the threshold: a 'down' crossing each, returned (or, far
    enough below, armed again); crm_core sends those still marketing_qualified back to nurture."""
    threshold = model.sales_ready_threshold
    scope, scope_params = _scope(lead_ids)
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
            threshold - model.handoff_rearm_margin,
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
    return leads_return_to_nurture(leads=SqlRows("_leadscoring_down"), reason=reason_down(model), now=now)


def _rearm(cursor, *, model: ScoringModel, lead_ids: list[int] | None) -> None:
    """Step 2. Returned leads that fell far enough: armed again."""
    scope, scope_params = _scope(lead_ids)
    cursor.execute(
        f"UPDATE {_SCORE} s SET handoff_state = %s"
        f" WHERE s.model_id = %s AND s.handoff_state = %s AND s.score < %s {scope}",
        [
            HandoffState.ARMED.value,
            model.pk,
            HandoffState.RETURNED.value,
            model.sales_ready_threshold - model.handoff_rearm_margin,
            *scope_params,
        ],
    )


def _candidates_collect(cursor, *, model: ScoringModel, lead_ids: list[int] | None) -> None:
    """Step 3a. Armed leads at or over the threshold whose status allows it, locked in id order, into
    `_leadscoring_handoff` with the owner of the lead, else its account's, else its contact's account's;
    the unowned ones numbered (`rr`) in lead order for the round-robin."""
    scope, scope_params = _scope(lead_ids)
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
        [
            model.pk,
            HandoffState.ARMED.value,
            model.sales_ready_threshold,
            LeadStatus.NEW.value,
            LeadStatus.NURTURE.value,
            *scope_params,
        ],
    )


def _owners_round_robin(cursor) -> None:
    """Step 3b. The unowned candidates go to the sales users in turn, the one assigned least recently
    (never assigned first) taking the first lead; ties by user id."""
    sales_users = sales_user_ids()
    if not sales_users:
        return
    cursor.execute(
        f"""
        WITH ranked AS (
            SELECT u.id, row_number() OVER (ORDER BY last.at NULLS FIRST, u.id) - 1 AS k
            FROM {get_user_model()._meta.db_table} u
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


def _handed_off_record(cursor, *, model: ScoringModel, now: datetime) -> int:
    """Step 3c. An 'up' crossing per handed-off lead, with its owner, and its score row marked
    handed_off; returns the leads handed off."""
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
    return cursor.rowcount
