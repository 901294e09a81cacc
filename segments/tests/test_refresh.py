import uuid

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from conftest import wait_until
from crm_core.services import lead_create
from crm_core.tests.factories import ContactFactory, LeadFactory
from segments.examples import CONTOSO_DECISION_MAKERS as CONTOSO
from segments.models import Segment, SegmentKind, SegmentMembership, SegmentMembershipEvent, SegmentStatus
from segments.services import (
    SCHEDULED_KEY,
    segment_create,
    segment_go_live,
    segment_refresh,
    segments_entities_changed,
    segments_refresh_changed,
    static_segment_fill,
)


def members(segment) -> set[int]:
    return set(SegmentMembership.objects.filter(segment=segment).values_list("contact_id", flat=True))


@pytest.mark.django_db
def test_refresh_is_incremental_and_logs_joins_and_leaves():
    ada = ContactFactory(job_role="decision_maker")
    bob = ContactFactory(job_role="decision_maker")
    LeadFactory(parent_contact=ada, topic="Contoso Ltd Conference")
    demo = LeadFactory(parent_contact=bob, topic="Demo")
    segment = segment_create(name="Contoso decision makers", definition=CONTOSO)
    assert segment.entities == ["contact", "lead"]

    first = segment_refresh(segment_id=segment.pk)
    assert (first.added, first.removed) == (1, 0)
    joined_at = SegmentMembership.objects.get(segment=segment).added_at

    demo.topic = "Contoso Ltd Conference"
    demo.save()
    ada.job_role = "influencer"
    ada.save()
    with CaptureQueriesContext(connection) as queries:
        second = segment_refresh(segment_id=segment.pk)
    assert (second.added, second.removed) == (1, 1)
    assert members(segment) == {bob.pk}
    writes = [q["sql"] for q in queries.captured_queries if "segmentmembership" in q["sql"].lower()]
    assert not any(sql.lstrip().upper().startswith("DELETE") and "NOT EXISTS" not in sql for sql in writes)

    third = segment_refresh(segment_id=segment.pk)
    assert (third.added, third.removed) == (0, 0)
    segment.refresh_from_db()
    assert segment.member_count == 1 and segment.refreshed_version == segment.version
    assert segment.last_refresh_seconds is not None
    events = list(SegmentMembershipEvent.objects.filter(segment=segment).values_list("contact_id", "change"))
    assert sorted(events) == sorted([(ada.pk, "joined"), (bob.pk, "joined"), (ada.pk, "left")])
    assert joined_at is not None


@pytest.mark.django_db
def test_account_rooted_and_static_segments():
    ada = ContactFactory(email="ada@example.com")
    ContactFactory(email="bob@example.com")
    static = Segment.objects.create(name="VIPs", kind=SegmentKind.STATIC)
    assert static_segment_fill(segment=static, emails=["ADA@example.com ", "nobody@example.com"]) == 1
    assert members(static) == {ada.pk}
    assert segment_refresh(segment_id=static.pk).skipped == "static"
    assert members(static) == {ada.pk}


@pytest.mark.django_db
def test_changed_entities_refresh_only_the_live_segments_that_read_them(django_capture_on_commit_callbacks):
    from segments.compiler.registry import ENTITIES
    from segments.services import DIRTY_KEY

    # Changes announced by earlier tests of this process (their notices run on commit) are not ours.
    cache.delete_many([DIRTY_KEY.format(entity=entity) for entity in ENTITIES])
    ada = ContactFactory(job_role="decision_maker")
    LeadFactory(parent_contact=ada, topic="Contoso Ltd Conference")
    live = segment_create(name="live", definition=CONTOSO)
    with django_capture_on_commit_callbacks(execute=False):
        segment_go_live(segment=live)
    by_country = segment_create(
        name="countries",
        definition={"entity": "contact", "conditions": [{"field": "country", "op": "eq", "value": "x"}]},
    )
    Segment.objects.filter(pk=by_country.pk).update(status=SegmentStatus.LIVE)
    with django_capture_on_commit_callbacks(execute=True):
        segments_entities_changed(entities={"opportunity"})
    assert segments_refresh_changed() == []
    with django_capture_on_commit_callbacks(execute=True):
        segments_entities_changed(entities={"lead"})
    results = segments_refresh_changed()
    assert [r.segment_id for r in results] == [live.pk]
    assert members(live) == {ada.pk}
    assert segments_refresh_changed() == []  # nothing changed since


@pytest.mark.worker
def test_a_new_matching_lead_joins_a_live_segment_within_seconds(celery_worker_process):
    ada = ContactFactory(job_role="decision_maker")
    segment = segment_create(name="live", definition=CONTOSO)
    segment_go_live(segment=segment)
    wait_until(lambda: Segment.objects.get(pk=segment.pk).refreshed_at is not None, timeout=10)
    assert members(segment) == set()

    # An earlier test in this process may have scheduled a run on a queue no worker reads.
    cache.delete(SCHEDULED_KEY)
    lead_create(parent_contact=ada, topic="Contoso Ltd Conference")  # nobody presses refresh
    wait_until(lambda: members(segment) == {ada.pk}, timeout=10)


@pytest.mark.django_db
def test_set_based_orphan_linking_marks_leads_and_contacts_changed(django_capture_on_commit_callbacks):
    from django.core.cache import cache

    from crm_core.services import lead_link_orphans
    from crm_core.tests.factories import OrphanLeadFactory
    from segments.services import DIRTY_KEY

    OrphanLeadFactory(email="orphan@example.com")
    cache.delete_many([DIRTY_KEY.format(entity=e) for e in ("lead", "contact")])
    with django_capture_on_commit_callbacks(execute=True):
        lead_link_orphans()
    assert cache.get(DIRTY_KEY.format(entity="lead")) and cache.get(DIRTY_KEY.format(entity="contact"))


@pytest.mark.django_db
def test_static_segment_from_a_csv_of_emails(tmp_path, capsys):
    from django.core.management import call_command

    ada = ContactFactory(email="ada@example.com")
    ContactFactory(email="bob@example.com")
    static = Segment.objects.create(name="Imported", kind=SegmentKind.STATIC)
    path = tmp_path / "emails.csv"
    path.write_text("name,email\nAda,ADA@example.com\nNobody,nobody@example.com\n")
    call_command("import_segment_emails", static.pk, str(path))
    assert members(static) == {ada.pk}
    assert "1 contacts added" in capsys.readouterr().out


@pytest.mark.django_db(transaction=True)
def test_a_burst_of_lead_changes_schedules_one_refresh_run(monkeypatch):
    import redis
    from django.conf import settings

    from config.celery_app import app

    queue = f"test-burst-{uuid.uuid4().hex[:8]}"
    previous, app.conf.task_default_queue = app.conf.task_default_queue, queue
    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    # The burst is one burst however slow the machine: the coalescing window outlasts it (the
    # window's own length is a setting, not what this test is about).
    monkeypatch.setattr("segments.services.SCHEDULED_TTL_SECONDS", 3600)
    try:
        cache.delete(SCHEDULED_KEY)
        contact = ContactFactory()
        for index in range(300):  # each save commits on its own and marks "lead" changed
            lead_create(parent_contact=contact, topic=f"topic {index}")
        assert broker.llen(queue) == 1
    finally:
        app.conf.task_default_queue = previous
        broker.delete(queue)


@pytest.mark.django_db
def test_a_refresh_is_one_unordered_statement_that_evaluates_the_definition_once():
    ada = ContactFactory(job_role="decision_maker")
    LeadFactory(parent_contact=ada, topic="Contoso Ltd Conference")
    segment = segment_create(name="Contoso decision makers", definition=CONTOSO)
    with CaptureQueriesContext(connection) as queries:
        segment_refresh(segment_id=segment.pk)
    diffs = [q["sql"] for q in queries.captured_queries if "segments_segmentmembershipevent" in q["sql"]]
    assert len(diffs) == 1 and "ORDER BY" not in diffs[0].upper()

    def scans_of(table: str, plan: dict) -> int:
        own = 1 if plan.get("Relation Name") == table else 0
        return own + sum(scans_of(table, child) for child in plan.get("Plans", []))

    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (FORMAT JSON) {diffs[0]}")
        plan = cursor.fetchone()[0][0]["Plan"]
    assert scans_of("crm_core_contact", plan) == 1 and scans_of("crm_core_lead", plan) == 1
