import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from conftest import wait_until
from crm_core.models import Contact
from crm_core.services import lead_create
from crm_core.tests.factories import ContactFactory, LeadFactory
from segments.examples import CONTOSO_DECISION_MAKERS as CONTOSO
from segments.freshness import segments_entities_changed, segments_refresh_changed
from segments.models import Segment, SegmentKind, SegmentMembership, SegmentMembershipEvent, SegmentStatus
from segments.services import (
    SCHEDULED_KEY,
    segment_create,
    segment_go_live,
    segment_refresh,
    static_segment_fill,
)

from .support import drain


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
    from segments.freshness import DIRTY_KEY

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


def test_set_based_orphan_linking_brings_the_new_contacts_into_live_segments(freshness):
    from crm_core.services import lead_link_orphans
    from crm_core.tests.factories import OrphanLeadFactory

    segment = segment_go_live(segment=segment_create(name="Contoso decision makers", definition=CONTOSO))
    drain()
    OrphanLeadFactory(email="orphan@example.com", job_role="decision_maker", topic="Contoso Ltd Conference")
    lead_link_orphans()  # set-based: the notices name the contacts the leads now belong to
    [result] = drain()
    linked = set(Contact.objects.filter(email="orphan@example.com").values_list("pk", flat=True))
    assert not result.full and result.contacts == 1 and members(segment) == linked


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


def _row_version(segment_id: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT ctid::text FROM segments_segment WHERE id = %s", [segment_id])
        return cursor.fetchone()[0]


def _increment(segment, contact_ids):
    from django.db import transaction

    from segments.refresh import refresh_contacts_locked, refresh_lock

    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        refresh_lock(segment.pk, wait=True)
        result = refresh_contacts_locked(segment, contact_ids, started=0.0)
    return result, [q["sql"] for q in queries.captured_queries]


def _count_apart(statements: list[str]) -> list[str]:
    """Statements other than the diff that count members or write the segment's count."""
    return [
        sql
        for sql in statements
        if "WITH matches" not in sql
        and (
            (sql.lstrip().upper().startswith("UPDATE") and "member_count" in sql)
            or ("COUNT(" in sql.upper() and "segmentmembership" in sql)
        )
    ]


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["sql", "portable"])
def test_the_member_count_moves_with_the_membership(path, request):
    """The diff statement stores the count itself (PostgreSQL: one round trip, no count of the members
    apart), in full and for some contacts; an increment that changes nobody leaves the row alone."""
    if path == "portable":
        request.getfixturevalue("portable_path")
    ada, bob = ContactFactory(job_role="decision_maker"), ContactFactory(job_role="decision_maker")
    LeadFactory(parent_contact=ada, topic="Contoso Ltd Conference")
    segment = segment_create(name="Contoso decision makers", definition=CONTOSO)
    with CaptureQueriesContext(connection) as full:
        segment_refresh(segment_id=segment.pk)
    segment.refresh_from_db()
    assert segment.member_count == 1

    LeadFactory(parent_contact=bob, topic="Contoso Ltd Conference")
    joined, statements = _increment(segment, [ada.pk, bob.pk])
    assert (joined.added, joined.removed, segment.member_count) == (1, 0, 2)
    Contact.objects.filter(pk=ada.pk).update(job_role="influencer")
    left, _ = _increment(segment, [ada.pk])
    assert (left.added, left.removed, segment.member_count) == (0, 1, 1)
    segment.refresh_from_db()
    assert segment.member_count == 1 == len(members(segment))

    before = _row_version(segment.pk)
    nothing, _ = _increment(segment, [ada.pk, bob.pk])
    assert (nothing.added, nothing.removed) == (0, 0)
    assert _row_version(segment.pk) == before
    if path == "sql":
        assert _count_apart([q["sql"] for q in full.captured_queries]) == []
        assert _count_apart(statements) == []


@pytest.mark.django_db
def test_a_full_refresh_that_moved_many_members_has_the_membership_analyzed(
    monkeypatch, django_capture_on_commit_callbacks
):
    """The increments' removal is planned from the membership table's statistics: after a big fill
    they are refreshed (once committed), not after a small one."""
    from segments import refresh

    monkeypatch.setattr(refresh, "ANALYZE_AFTER_ROWS", 2)
    ada, bob = ContactFactory(job_role="decision_maker"), ContactFactory(job_role="decision_maker")
    LeadFactory(parent_contact=ada, topic="Contoso Ltd Conference")
    segment = segment_create(name="Contoso decision makers", definition=CONTOSO)
    with CaptureQueriesContext(connection) as small, django_capture_on_commit_callbacks(execute=True):
        segment_refresh(segment_id=segment.pk)
    assert not [q for q in small.captured_queries if q["sql"].startswith("ANALYZE")]
    LeadFactory(parent_contact=bob, topic="Contoso Ltd Conference")
    Contact.objects.filter(pk=ada.pk).update(job_role="influencer")
    with CaptureQueriesContext(connection) as big, django_capture_on_commit_callbacks(execute=True):
        segment_refresh(segment_id=segment.pk)
    assert [q["sql"] for q in big.captured_queries if q["sql"].startswith("ANALYZE")] == [
        "ANALYZE segments_segmentmembership"
    ]
