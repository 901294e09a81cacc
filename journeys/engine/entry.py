"""Entering a live journey: everyone its entry produced since the journey's cursor (members who
joined its segment, or contacts of its trigger's new rows) enters at its first step, in one
INSERT ... SELECT (and one UPDATE ... FROM for re-entries), never a row at a time. The statements are
portable: PostgreSQL and the embedded SQLite default run the same SQL."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import connection

from crm_core.models import Contact, Interaction, Lead

from .. import adapters
from ..models import EntryType, Journey, TriggerKind
from .conf import setting


def first_step_id(journey: Journey) -> int | None:
    return journey.steps.order_by("position", "id").values_list("id", flat=True).first()


def entry_source(journey: Journey, since: datetime | None):
    """A queryset of (contact_id, joined_at) rows: who may enter now and when they qualified."""
    if journey.entry_type == EntryType.SEGMENT:
        return adapters.segment_joins_since(journey.entry_segment_id, since)
    config = journey.trigger_config or {}
    # Nothing that happened before the journey (last) went live enters: the cursor's overlap must not
    # reach back past it.
    live_since = journey.live_since or journey.went_live_at
    since = max(since, live_since) if since and live_since else since or live_since
    match journey.trigger_kind:
        case TriggerKind.FORM_SUBMIT:
            rows = adapters.form_submit_interactions(page=config.get("page"), form=config.get("form"))
            rows = rows.filter(created_at__gte=since, occurred_at__gte=live_since)
            return rows.values_list("contact_id", "created_at")
        case TriggerKind.INTERACTION:
            rows = Interaction.objects.filter(
                kind=config.get("kind"), created_at__gte=since, occurred_at__gte=live_since
            )
            return rows.values_list("contact_id", "created_at")
        case TriggerKind.LEAD_CREATED:
            rows = Lead.objects.filter(created_at__gte=since, parent_contact__isnull=False)
            if config.get("topic"):
                rows = rows.filter(topic__iexact=config["topic"])
            return rows.values_list("parent_contact_id", "created_at")
        case TriggerKind.FIELD_CHANGED:
            rows = Contact.objects.filter(updated_at__gte=since, **{config["field"]: config.get("value")})
            return rows.values_list("id", "updated_at")
    raise ValueError(f"journey {journey.pk} has no valid entry")


def enter_contacts(*, journey: Journey, now: datetime) -> int:
    """Enter everyone the journey's entry produced since its cursor: one INSERT ... SELECT (and one
    UPDATE for re-entries), never a row at a time. Returns how many entered."""
    start = first_step_id(journey)
    if start is None:
        return 0
    overlap = timedelta(seconds=setting("JOURNEYS_ENTRY_OVERLAP_SECONDS", 60))
    since = journey.entry_cursor - overlap if journey.entry_cursor else None
    source_sql, source_params = entry_source(journey, since).query.sql_with_params()
    # The entry source (and the suppression segment) as CTEs with column lists: portable SQL that
    # PostgreSQL inlines, and SQLite (no column lists on derived tables) accepts.
    ctes, params = [f"raw(contact_id, joined_at) AS ({source_sql})"], list(source_params)
    source = (
        "(SELECT contact_id, max(joined_at) AS joined_at FROM raw "
        "WHERE contact_id IS NOT NULL GROUP BY contact_id) AS src"
    )
    suppress = ""
    if journey.suppression_segment_id:
        sup_sql, sup_params = adapters.segment_member_ids(
            journey.suppression_segment_id
        ).query.sql_with_params()
        ctes.append(f"sup(contact_id) AS ({sup_sql})")
        params += list(sup_params)
        suppress = "AND NOT EXISTS (SELECT 1 FROM sup WHERE sup.contact_id = src.contact_id)"
    with_ctes = "WITH " + ", ".join(ctes)
    entered = 0
    now = connection.ops.adapt_datetimefield_value(now)  # raw SQL: stored as the ORM stores it
    with connection.cursor() as cursor:
        if journey.allow_reentry:
            cursor.execute(
                f"""{with_ctes}
                    UPDATE journeys_enrollment AS e SET current_step_id = %s, state = 'active',
                        next_run_at = %s, entry_number = e.entry_number + 1, entered_at = %s,
                        step_started_at = %s, finished_at = NULL, exit_reason = '', dispatched_at = NULL
                    FROM {source}
                    WHERE e.journey_id = %s AND e.contact_id = src.contact_id
                      AND e.state IN ('completed', 'exited') AND src.joined_at > e.finished_at {suppress}""",
                [*params, start, now, now, now, journey.pk],
            )
            entered += rows_changed(cursor)
        # NOT EXISTS skips everyone already enrolled by the snapshot (cheaper than a conflict per row, and
        # it never waits on a worker that is updating their enrollment); ON CONFLICT covers races.
        cursor.execute(
            f"""{with_ctes}
                INSERT INTO journeys_enrollment (journey_id, contact_id, current_step_id, state, next_run_at,
                    seq, entry_number, entered_at, step_started_at, exit_reason)
                SELECT %s, src.contact_id, %s, 'active', %s, 0, 1, %s, %s, '' FROM {source}
                WHERE NOT EXISTS (SELECT 1 FROM journeys_enrollment AS x
                                  WHERE x.journey_id = %s AND x.contact_id = src.contact_id) {suppress}
                ON CONFLICT (journey_id, contact_id) DO NOTHING""",
            [*params, journey.pk, start, now, now, now, journey.pk],
        )
        entered += rows_changed(cursor)
    return entered


def rows_changed(cursor) -> int:
    """Rows the last statement wrote. Python's sqlite3 reports -1 for a statement that starts with
    WITH; SQLite's changes() has the count."""
    if cursor.rowcount >= 0:
        return cursor.rowcount
    cursor.execute("SELECT changes()")
    return cursor.fetchone()[0]
