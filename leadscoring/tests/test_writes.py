"""A recompute writes only the scores that changed: with nothing changed it writes nothing (both paths)."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection

from crm_core.models import InteractionKind, Lead
from crm_core.tests.factories import ContactFactory, InteractionFactory, LeadFactory, OrphanLeadFactory
from crm_core.tests.notices import notices_sent
from leadscoring.models import LeadScore
from leadscoring.services import scoring_model_recompute

from .factories import GradeBandFactory, PrimaryScoringModelFactory, ScoringRuleFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("scoring_path")]

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


def _score_rows_written() -> int:
    """Rows of the score table inserted or updated in this transaction so far (PostgreSQL's counters)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT COALESCE(sum(n_tup_ins + n_tup_upd), 0) FROM pg_stat_xact_user_tables WHERE relname = %s",
            [LeadScore._meta.db_table],
        )
        return int(cursor.fetchone()[0])


def _stored(model) -> dict:
    return {
        row[0]: row[1:]
        for row in LeadScore.objects.filter(model=model).values_list(
            "lead_id", "score", "grade", "sales_ready", "computed_at"
        )
    }


@pytest.fixture
def scored(django_capture_on_commit_callbacks):
    """A primary model (so leads get their copy) over three leads, recomputed once at NOW."""
    model = PrimaryScoringModelFactory(sales_ready_threshold=1000)
    ScoringRuleFactory(model=model, interaction_kind=InteractionKind.FORM_SUBMIT, points=25)
    GradeBandFactory(model=model, grade="A", min_score=50)
    GradeBandFactory(model=model, grade="B", min_score=0, max_score=49)
    busy, quiet = ContactFactory(), ContactFactory()
    leads = [LeadFactory(parent_contact=busy), LeadFactory(parent_contact=quiet), OrphanLeadFactory()]
    for days in (1, 2):
        InteractionFactory(
            contact=busy, kind=InteractionKind.FORM_SUBMIT, occurred_at=NOW - timedelta(days=days)
        )
    with django_capture_on_commit_callbacks(execute=True):
        result = scoring_model_recompute(model=model, now=NOW)
    assert (result.leads_scored, result.scores_changed) == (3, 3)
    return model, busy, leads


def test_a_recompute_with_nothing_changed_writes_nothing(scored, django_capture_on_commit_callbacks):
    model, _, leads = scored
    before, written = _stored(model), _score_rows_written()
    with notices_sent() as sent, django_capture_on_commit_callbacks(execute=True):
        result = scoring_model_recompute(model=model, now=NOW + timedelta(hours=1))
    assert (result.leads_scored, result.scores_changed) == (3, 0)
    assert _stored(model) == before  # computed_at too: the rows were not touched
    assert _score_rows_written() == written
    assert sent == []  # and no lead got its copy written again
    assert [
        lead.score for lead in Lead.objects.filter(pk__in=[lead.pk for lead in leads]).order_by("pk")
    ] == [
        50,
        0,
        0,
    ]


def test_only_the_changed_score_is_written(scored, django_capture_on_commit_callbacks):
    model, busy, leads = scored
    before, written = _stored(model), _score_rows_written()
    InteractionFactory(contact=busy, kind=InteractionKind.FORM_SUBMIT, occurred_at=NOW)
    later = NOW + timedelta(hours=1)
    with notices_sent() as sent, django_capture_on_commit_callbacks(execute=True):
        result = scoring_model_recompute(model=model, now=later)
    assert result.scores_changed == 1
    after = _stored(model)
    assert after[leads[0].pk] == (75, "A", False, later)
    assert {pk: row for pk, row in after.items() if pk != leads[0].pk} == {
        pk: row for pk, row in before.items() if pk != leads[0].pk
    }
    assert _score_rows_written() == written + 1
    assert [(set(change.ids), change.fields) for change in sent] == [
        ({leads[0].pk}, frozenset({"score", "grade", "sales_ready"}))
    ]
