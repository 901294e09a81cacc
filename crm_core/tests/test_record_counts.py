"""The per-day record counts (RecordCount, kept by PostgreSQL triggers) stay equal to a direct count
of the records whoever writes them: services, the API, set-based jobs, deletes, erasure, compaction."""

import importlib
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from crm_core import record_counts, services
from crm_core.models import (
    SCORE_BUCKETS,
    Contact,
    ContactOrigin,
    Lead,
    LeadStatus,
    Opportunity,
    OpportunityStatus,
    RecordCount,
    WorkflowSettings,
)
from crm_core.privacy import contact_erase
from crm_core.record_counts import TOTALS, created_totals
from crm_core.services import SqlRows
from crm_core.sqlpath import portable_path
from crm_core.tests.factories import ContactFactory, LeadFactory, OpportunityFactory, OrphanLeadFactory

pytestmark = pytest.mark.django_db


def _ranges() -> list[tuple[datetime, datetime]]:
    """Whole UTC days, a range with parts of days at both ends, less than a day, and a long range."""
    now = timezone.now()
    today = datetime.combine(now.astimezone(UTC).date(), datetime.min.time(), tzinfo=UTC)
    return [
        (today - timedelta(days=400), today + timedelta(days=1)),
        (today - timedelta(days=1, hours=7, minutes=13), today + timedelta(hours=23, minutes=59)),
        (now - timedelta(hours=2), now + timedelta(hours=2)),
        (today - timedelta(days=300, hours=5), today - timedelta(days=2, hours=-4)),
    ]


def direct(start, end) -> dict:
    with portable_path():
        return created_totals(start, end)


def assert_counts_exact() -> dict:
    """Each range's numbers from the counts equal a direct count; returns the widest range's."""
    ranges = _ranges()
    for start, end in ranges:
        assert created_totals(start, end) == direct(start, end), (start, end)
    return direct(*ranges[0])


def _age(model, pk, days):
    model.objects.filter(pk=pk).update(created_at=timezone.now() - timedelta(days=days))


def test_the_migration_buckets_are_the_model_buckets():
    migration = importlib.import_module("crm_core.migrations.0015_record_counts")
    assert tuple(high for _, _, high in SCORE_BUCKETS if high is not None) == migration.BUCKET_UPPER_BOUNDS
    assert [low for _, low, _ in SCORE_BUCKETS[1:]] == list(migration.BUCKET_UPPER_BOUNDS)
    assert migration.ORPHAN_WORKFLOW_ORIGIN == ContactOrigin.ORPHAN_LEAD_WORKFLOW


def test_the_postgresql_path_reads_the_counts_not_the_records():
    lead = LeadFactory(score=30)
    start, end = _ranges()[0]
    assert created_totals(start, end)["leads"] == 1 and created_totals(start, end)["bucket_2"] == 1
    # Remove the counts behind the records' back: only the PostgreSQL path sees it.
    RecordCount.objects.all().delete()
    assert created_totals(start, end)["leads"] == 0
    assert direct(start, end)["leads"] == 1 and Lead.objects.filter(pk=lead.pk).exists()


def test_services_lifecycle_scores_and_deletes_keep_the_counts_exact(marketer, sales_rep):
    contact = services.contact_create(actor=marketer, email="ann@example.com", first_name="Ann")
    leads = [
        services.lead_create(actor=marketer, topic=f"Topic {n}", parent_contact=contact) for n in range(5)
    ]
    orphan = services.lead_create(actor=sales_rep, topic="Orphan", email="orphan@example.com")
    _age(Lead, leads[4].pk, 40)
    _age(Contact, ContactFactory().pk, 2)
    totals = assert_counts_exact()
    assert totals["leads"] == 6 and totals["contacts"] == 2 and totals["unlinked_orphans"] == 1

    services.lead_mark_marketing_qualified(lead=leads[0], actor=marketer)
    services.lead_accept(lead=leads[0], actor=sales_rep)
    services.lead_qualify(lead=leads[0], actor=sales_rep, opportunity_name="Deal")
    services.lead_disqualify(lead=leads[1], actor=sales_rep)
    services.lead_qualify(lead=orphan, actor=sales_rep, opportunity_name="Orphan deal")  # links it
    totals = assert_counts_exact()
    assert totals["sales_accepted"] == 2 and totals["opportunities"] == 2 and totals["unlinked_orphans"] == 0

    opportunity = Opportunity.objects.order_by("id").first()
    services.opportunity_update(opportunity=opportunity, actor=sales_rep, status=OpportunityStatus.WON)
    services.leads_scores_apply(
        scores=SqlRows(
            "SELECT id, 150 - 40 * (id %% 5), 'B', false FROM crm_core_lead WHERE id <> %s", [leads[2].pk]
        )
    )
    services.leads_scores_apply(scores=[(leads[2].pk, -10, "D", False)])
    totals = assert_counts_exact()
    assert (
        totals["won"] == 1 and totals["bucket_0"] >= 1 and sum(totals[f"bucket_{i}"] for i in range(8)) == 6
    )

    services.lead_delete(lead=leads[3], actor=marketer)
    services.records_delete(entity="opportunity", ids=[opportunity.pk], actor=marketer)
    services.contact_delete(contact=contact, actor=marketer)  # its leads become orphans
    totals = assert_counts_exact()
    assert totals["leads"] == 5 and totals["opportunities"] == 1 and totals["unlinked_orphans"] == 4


def test_the_api_keeps_the_counts_exact(marketer_client, sales_client, admin_client_api):
    created = marketer_client.post("/api/contacts/", {"email": "bo@example.com"}, format="json")
    assert created.status_code == 201, created.content
    lead = sales_client.post("/api/leads/", {"topic": "Webinar"}, format="json")
    assert lead.status_code == 201, lead.content
    totals = assert_counts_exact()
    assert totals["contacts"] == 1 and totals["leads"] == 1 and totals["unlinked_orphans"] == 1
    assert sales_client.post(f"/api/leads/{lead.json()['id']}/accept/").status_code in (200, 400)
    assert admin_client_api.delete(f"/api/contacts/{created.json()['id']}/").status_code == 204
    totals = assert_counts_exact()
    assert totals["contacts"] == 0


@pytest.mark.parametrize("path", ["postgresql", "portable"])
def test_set_based_jobs_keep_the_counts_exact(request, path, marketer):
    if path == "portable":
        request.getfixturevalue("portable_path")
    WorkflowSettings.objects.update_or_create(pk=1, defaults={"orphan_lead_workflow_enabled": True})
    rows = [{"topic": "Import", "email": f"imp{n % 7}@example.com"} for n in range(20)]
    rows += [{"topic": "Import, no email"} for _ in range(3)]
    result = services.lead_bulk_import(rows=rows, imported_by=marketer)
    assert result.leads_created == 23
    OrphanLeadFactory.create_batch(4, email=None)
    for lead in OrphanLeadFactory.create_batch(3):
        _age(Lead, lead.pk, 12)
    assert created_totals(*_ranges()[0])["unlinked_orphans"] == 7
    services.lead_link_orphans()
    totals = assert_counts_exact()
    assert totals["unlinked_orphans"] == 0 and totals["leads"] == 30
    assert (
        totals["orphan_workflow_contacts"]
        == Contact.objects.filter(origin=ContactOrigin.ORPHAN_LEAD_WORKFLOW).count()
        > 7
    )


def test_erasure_keeps_the_counts_exact(admin_user):
    contact = ContactFactory(email="erase.me@example.com")
    LeadFactory.create_batch(2, parent_contact=contact, status=LeadStatus.MARKETING_QUALIFIED, score=80)
    OrphanLeadFactory(email="erase.me@example.com")
    OpportunityFactory(contact=contact)
    contact_erase(contact=contact, actor=admin_user)
    totals = assert_counts_exact()
    assert totals["contacts"] == 1 and totals["leads"] == 3 and totals["bucket_4"] == 2


def test_compaction_folds_the_deltas_and_keeps_every_number():
    for n in range(6):
        LeadFactory(score=n * 40, status=LeadStatus.NEW if n % 2 else LeadStatus.QUALIFIED)
        OpportunityFactory()
    Lead.objects.filter(score__gte=120).update(score=10)
    Lead.objects.filter(score=10).delete()
    ranges = _ranges()
    before = {(start, end): created_totals(start, end) for start, end in ranges}
    deltas = RecordCount.objects.filter(compact=False).count()
    assert (
        deltas
        > RecordCount.objects.values("entity", "day", "status", "score_bucket", "flag").distinct().count()
    )

    result = services.record_counts_compact()
    assert result["folded"] == deltas and not RecordCount.objects.filter(compact=False).exists()
    keys = RecordCount.objects.values_list("entity", "day", "status", "score_bucket", "flag")
    assert len(keys) == len(set(keys)) == result["kept"] and not RecordCount.objects.filter(n=0).exists()
    assert {(start, end): created_totals(start, end) for start, end in ranges} == before
    assert services.record_counts_compact() == {"folded": 0, "kept": 0}
    assert_counts_exact()


def test_the_portable_path_keeps_no_counts_and_compaction_does_nothing(portable_path):
    LeadFactory()
    assert services.record_counts_compact() == {"folded": 0, "kept": 0}
    assert set(created_totals(*_ranges()[0])) == {*TOTALS, "unlinked_orphans"}
    assert record_counts.postgres_sql() is False


def test_concurrent_writers_never_wait_for_each_other_on_the_counts():
    """Each statement adds rows of its own: a lead written while another transaction holds an
    uncommitted lead of the same key (day, status, bucket) goes through at once."""
    import psycopg
    from django.db import connection

    params = connection.get_connection_params()
    with psycopg.connect(**{k: v for k, v in params.items() if k != "cursor_factory"}) as other:
        other.execute(
            "INSERT INTO crm_core_lead (created_at, updated_at, topic, first_name, last_name, company_name,"
            " job_title, job_role, status, source, score, grade, sales_ready, identity_status)"
            " VALUES (now(), now(), 'Other', '', '', '', '', '', 'new', 'other', 0, '', false, '')"
        )  # left uncommitted
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL lock_timeout = '1s'")
        OrphanLeadFactory(score=0, status=LeadStatus.NEW)
        assert created_totals(*_ranges()[0])["unlinked_orphans"] == 1
        other.rollback()
