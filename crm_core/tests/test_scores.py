"""Lead scoring's writes to leads (crm_core.services.scores) on both paths, and their notices."""

from datetime import UTC, datetime

import pytest
from django.db import connection

from crm_core import events
from crm_core.models import Lead, LeadStatus, LeadStatusChange
from crm_core.services import scores
from crm_core.services.scores import SqlRows, leads_hand_off, leads_return_to_nurture, leads_scores_apply
from crm_core.tests.factories import LeadFactory, OrphanLeadFactory, SalesRepFactory

from .notices import notices_sent

pytestmark = pytest.mark.django_db

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(params=["sql", "portable"])
def path(request):
    return request.param


def _source(path, rows, casts):
    """The rows as the SQL path takes them (a VALUES relation) or as the portable path does."""
    if path == "portable" or not rows:
        return rows if path == "portable" else SqlRows("SELECT 1 WHERE FALSE")
    row_sql = "(" + ", ".join(f"%s::{cast}" for cast in casts) + ")"
    params = [value for row in rows for value in (row if isinstance(row, tuple) else (row,))]
    return SqlRows(f"SELECT * FROM (VALUES {', '.join([row_sql] * len(rows))}) v", params)


def _lead_notices(sent):
    return [n for n in sent if n.entity == events.LEAD]


def test_scores_are_copied_where_they_differ_and_the_changed_leads_announced(
    path, django_capture_on_commit_callbacks
):
    rising, same, falling = LeadFactory(), LeadFactory(score=50, grade="B", sales_ready=True), LeadFactory()
    orphan = OrphanLeadFactory()
    rows = [
        (rising.pk, 120, "A", True),
        (same.pk, 50, "B", True),
        (falling.pk, -5, "", False),
        (orphan.pk, 10, "C", False),
    ]
    with notices_sent() as sent, django_capture_on_commit_callbacks(execute=True):
        changed = leads_scores_apply(scores=_source(path, rows, ["bigint", "int", "varchar", "boolean"]))
    assert changed == 3
    assert sorted(Lead.objects.values_list("pk", "score", "grade", "sales_ready")) == sorted(rows)
    [notice] = _lead_notices(sent)
    assert (notice.action, notice.ids) == (events.UPDATED, {rising.pk, falling.pk, orphan.pk})
    assert notice.contact_ids == {rising.parent_contact_id, falling.parent_contact_id}
    assert notice.fields == {"score", "grade", "sales_ready"}

    with notices_sent() as sent, django_capture_on_commit_callbacks(execute=True):
        assert leads_scores_apply(scores=_source(path, rows, ["bigint", "int", "varchar", "boolean"])) == 0
    assert _lead_notices(sent) == []


def test_hand_off_moves_leads_with_their_owner_and_history_unless_their_status_moved(
    path, django_capture_on_commit_callbacks
):
    rep = SalesRepFactory()
    fresh, nurtured = LeadFactory(), LeadFactory(status=LeadStatus.NURTURE, owner=rep)
    accepted_meanwhile = LeadFactory(status=LeadStatus.SALES_ACCEPTED)
    rows = [
        (fresh.pk, LeadStatus.NEW.value, rep.pk),
        (nurtured.pk, LeadStatus.NURTURE.value, None),
        (accepted_meanwhile.pk, LeadStatus.NEW.value, rep.pk),
    ]
    with notices_sent() as sent, django_capture_on_commit_callbacks(execute=True):
        moved = leads_hand_off(
            leads=_source(path, rows, ["bigint", "varchar", "int"]), reason="ready", now=NOW
        )
    assert moved == 2
    assert sorted(Lead.objects.values_list("pk", "status", "owner_id", "updated_at")) == sorted(
        [
            (fresh.pk, LeadStatus.MARKETING_QUALIFIED, rep.pk, NOW),
            (nurtured.pk, LeadStatus.MARKETING_QUALIFIED, None, NOW),
            (accepted_meanwhile.pk, LeadStatus.SALES_ACCEPTED, None, accepted_meanwhile.updated_at),
        ]
    )
    assert sorted(
        LeadStatusChange.objects.values_list("lead_id", "from_status", "to_status", "reason", "changed_at")
    ) == [
        (fresh.pk, LeadStatus.NEW, LeadStatus.MARKETING_QUALIFIED, "ready", NOW),
        (nurtured.pk, LeadStatus.NURTURE, LeadStatus.MARKETING_QUALIFIED, "ready", NOW),
    ]
    [notice] = _lead_notices(sent)
    assert (notice.ids, notice.fields) == ({fresh.pk, nurtured.pk}, {"status", "owner"})
    assert notice.contact_ids == {fresh.parent_contact_id, nurtured.parent_contact_id}


def test_only_leads_still_marketing_qualified_return_to_nurture(path, django_capture_on_commit_callbacks):
    waiting = LeadFactory(status=LeadStatus.MARKETING_QUALIFIED)
    accepted = LeadFactory(status=LeadStatus.SALES_ACCEPTED)
    rows = [waiting.pk, accepted.pk]
    with notices_sent() as sent, django_capture_on_commit_callbacks(execute=True):
        back = leads_return_to_nurture(leads=_source(path, rows, ["bigint"]), reason="cooled", now=NOW)
    assert back == 1
    assert dict(Lead.objects.values_list("pk", "status")) == {
        waiting.pk: LeadStatus.NURTURE,
        accepted.pk: LeadStatus.SALES_ACCEPTED,
    }
    assert list(LeadStatusChange.objects.values_list("lead_id", "from_status", "to_status", "reason")) == [
        (waiting.pk, LeadStatus.MARKETING_QUALIFIED, LeadStatus.NURTURE, "cooled")
    ]
    [notice] = _lead_notices(sent)
    assert (notice.ids, notice.fields) == ({waiting.pk}, {"status"})

    with notices_sent() as sent, django_capture_on_commit_callbacks(execute=True):
        assert leads_return_to_nurture(leads=_source(path, [], ["bigint"]), reason="", now=NOW) == 0
    assert _lead_notices(sent) == []


def test_past_the_notice_limit_the_change_is_announced_as_any_lead(
    path, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(scores, "NOTICE_MAX_IDS", 2)
    leads = [LeadFactory() for _ in range(3)]
    rows = [(lead.pk, 7, "", False) for lead in leads]
    with notices_sent() as sent, django_capture_on_commit_callbacks(execute=True):
        assert leads_scores_apply(scores=_source(path, rows, ["bigint", "int", "varchar", "boolean"])) == 3
    [notice] = _lead_notices(sent)
    assert (notice.ids, notice.contact_ids) == (None, None)
    assert set(Lead.objects.values_list("score", flat=True)) == {7}


def test_sql_rows_are_refused_off_postgresql(monkeypatch):
    monkeypatch.setattr(connection, "vendor", "sqlite")
    with pytest.raises(ValueError, match="PostgreSQL"):
        leads_scores_apply(scores=SqlRows("SELECT 1 WHERE FALSE"))
