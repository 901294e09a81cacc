"""Live segments follow changed records incrementally: only the contacts a change touches are evaluated
again, bursts coalesce, `in_segment` references follow, and two refreshers never do one piece of
work twice. Real PostgreSQL and Redis; changes go through crm_core's services and commit."""

import threading
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.test import override_settings
from django.utils import timezone

from crm_core import events
from crm_core.events import RecordsChanged
from crm_core.services import account_update, contact_update, interactions_record, lead_create
from crm_core.tests.factories import AccountFactory, ContactFactory, LeadFactory
from segments import pending
from segments.examples import CONTOSO_DECISION_MAKERS as CONTOSO
from segments.freshness import DIRTY_KEY, segments_refresh_relative
from segments.incremental import contacts_of, segment_refresh_pending, segments_refresh_pending
from segments.models import Segment, SegmentKind, SegmentMembershipEvent
from segments.reads import FULL, RelativeSchedule, change_anchors, definition_reads, relative_schedule
from segments.refresh import refresh_lock
from segments.services import segment_create, segment_go_live, segment_members_add

from .support import drain, members


def where(*conditions, entity="contact") -> dict:
    return {"entity": entity, "match": "all", "conditions": list(conditions)}


def related(name: str, *conditions) -> dict:
    return {"related": name, "quantifier": "exists", "match": "all", "conditions": list(conditions)}


def field(name: str, op: str, value=None) -> dict:
    return {"field": name, "op": op, **({} if value is None else {"value": value})}


ACCOUNT_SOFTWARE = where(related("account", field("industry", "eq", "software")))


def change(entity, action=events.UPDATED, ids=(1,), contact_ids=None, fields=None) -> RecordsChanged:
    def frozen(values):
        return None if values is None else frozenset(values)

    return RecordsChanged(entity, action, frozen(ids), frozen(contact_ids), frozen(fields))


def anchors(definition, notice) -> set[str]:
    root = definition.get("entity", "contact")
    return set().union(*(change_anchors(read, root, notice) for read in definition_reads(definition)))


def live(name, definition):
    return segment_go_live(segment=segment_create(name=name, definition=definition))


# --- From a notice to what must be evaluated again ------------------------------------------------------


def test_a_notice_names_the_contacts_to_evaluate_again():
    assert anchors(CONTOSO, change("lead", ids=[7], contact_ids=[1, 2], fields=["topic"])) == {"c:1", "c:2"}
    assert anchors(CONTOSO, change("lead", ids=[7], contact_ids=[1], fields=["score", "grade"])) == set()
    assert anchors(CONTOSO, change("contact", ids=[3], contact_ids=[3], fields=["job_role"])) == {"c:3"}
    assert anchors(CONTOSO, change("contact", ids=[3], fields=["city"])) == set()
    assert anchors(CONTOSO, change("contact", events.CREATED, ids=None, contact_ids=[4, 5])) == {"c:4", "c:5"}
    assert anchors(CONTOSO, change("lead", ids=[7], contact_ids=None, fields=["topic"])) == {FULL}
    assert anchors(CONTOSO, change("interaction", events.CREATED, contact_ids=[1])) == set()
    assert anchors(ACCOUNT_SOFTWARE, change("account", ids=[9], fields=["industry"])) == {"a:9"}
    assert anchors(ACCOUNT_SOFTWARE, change("account", events.DELETED, ids=[9])) == {FULL}
    assert anchors(ACCOUNT_SOFTWARE, change("contact", ids=[3], fields=["parent_account"])) == {"c:3"}


def test_an_account_rooted_definition_follows_its_accounts_and_their_rows():
    definition = where(
        field("industry", "eq", "software"),
        related("opportunities", field("status", "eq", "open")),
        entity="account",
    )
    assert anchors(definition, change("account", ids=[9], fields=["industry"])) == {"a:9"}
    assert anchors(definition, change("opportunity", events.CREATED, ids=[4])) == {"v:opportunity:4"}
    assert anchors(definition, change("opportunity", ids=[4], fields=["account"])) == {FULL}
    assert anchors(definition, change("opportunity", events.DELETED, ids=[4])) == {FULL}
    # Its members are the accounts' contacts: a contact moving to another account is evaluated again.
    assert anchors(definition, change("contact", ids=[3], fields=["parent_account"])) == {"c:3"}
    assert anchors(definition, change("contact", ids=[3], fields=["job_role"])) == set()


def test_relative_time_sets_the_schedule_of_full_evaluations():
    def clicked_within(days, name="occurred_at", relationship="interactions"):
        return where(related(relationship, field(name, "in_last_days", days)))

    assert relative_schedule(CONTOSO) is None
    assert relative_schedule(clicked_within(30)) == RelativeSchedule(seconds=3600, by_day=False)
    assert relative_schedule(clicked_within(1)) == RelativeSchedule(seconds=864, by_day=False)
    assert relative_schedule(clicked_within(0)) == RelativeSchedule(seconds=300, by_day=False)
    assert relative_schedule(clicked_within(7, "close_date", "opportunities")).by_day


# --- Incremental runs ----------------------------------------------------------------------------------


def test_a_change_evaluates_only_the_contacts_it_touched(freshness):
    ada, bob = ContactFactory(job_role="decision_maker"), ContactFactory(job_role="decision_maker")
    LeadFactory(parent_contact=bob, topic="Contoso Ltd Conference")
    segment = live("Contoso decision makers", CONTOSO)
    [first] = drain()
    assert first.full and members(segment) == {bob.pk}

    lead_create(parent_contact=ada, topic="Contoso Ltd Conference")
    contact_update(contact=bob, job_role="influencer")
    contact_update(contact=bob, city="Berlin")  # a field the segment does not read
    [second] = drain()
    assert (second.full, second.contacts, second.added, second.removed) == (False, 2, 1, 1)
    assert members(segment) == {ada.pk}
    segment.refresh_from_db()
    assert segment.member_count == 1
    events_logged = SegmentMembershipEvent.objects.filter(segment=segment).values_list("contact_id", "change")
    assert sorted(events_logged) == sorted([(bob.pk, "joined"), (ada.pk, "joined"), (bob.pk, "left")])


def test_account_changes_reach_the_contacts_of_the_account(freshness):
    account = AccountFactory(industry="retail")
    ann, bob = ContactFactory(parent_account=account), ContactFactory(parent_account=account)
    ContactFactory(parent_account=AccountFactory(industry="retail"))
    segment = live("software people", ACCOUNT_SOFTWARE)
    drain()
    account_update(account=account, industry="software")
    [result] = drain()
    assert (result.full, result.contacts) == (False, 2) and members(segment) == {ann.pk, bob.pk}
    assert contacts_of([f"a:{account.pk}", f"c:{ann.pk}"]) == sorted([ann.pk, bob.pk])


def test_in_segment_references_follow_in_dependency_order(freshness):
    ada = ContactFactory(job_role="decision_maker", country="")
    vips = Segment.objects.create(name="VIPs", kind=SegmentKind.STATIC)
    contoso = live("Contoso", CONTOSO)
    contoso_vips = live("Contoso VIPs", where({"in_segment": contoso.pk}, {"in_segment": vips.pk}))
    everyone_else = live("not Contoso VIPs", where({"in_segment": contoso_vips.pk, "negate": True}))
    drain()
    assert members(everyone_else) == {ada.pk}

    segment_members_add(segment_id=vips.pk, contact_ids=[ada.pk])  # a static list changes
    lead_create(parent_contact=ada, topic="Contoso Ltd Conference")
    results = drain()
    assert members(contoso) == members(contoso_vips) == {ada.pk} and members(everyone_else) == set()
    evaluated = [r.segment_id for r in results]
    assert evaluated.index(contoso.pk) < evaluated.index(contoso_vips.pk) < evaluated.index(everyone_else.pk)
    assert len(evaluated) == len(set(evaluated)) == 3  # each once, in one run


def test_a_burst_of_changes_makes_one_run_and_one_evaluation_per_segment(freshness, monkeypatch):
    from config.celery_app import app

    # The burst is one burst however slow the machine: the coalescing window outlasts it.
    monkeypatch.setattr("segments.pending.SCHEDULED_TTL_SECONDS", 3600)
    contacts = [ContactFactory(job_role="decision_maker") for _ in range(20)]
    segments = [
        live("Contoso", CONTOSO),
        live("any conference", where(related("leads", field("topic", "contains", "conference")))),
    ]
    drain()
    with app.connection_for_write() as conn:
        conn.default_channel.client.delete(freshness)  # the go-live runs' messages
    for index in range(200):  # each commits on its own and announces a new lead
        topic = "Contoso Ltd Conference" if index % 2 else "Contoso Ltd Conference Europe"
        lead_create(parent_contact=contacts[index % 20], topic=topic)
    with app.connection_for_write() as conn:
        assert conn.default_channel.client.llen(freshness) == 1  # one run scheduled for the burst
    results = drain()
    assert sorted(r.segment_id for r in results) == sorted(s.pk for s in segments)
    assert all(not r.full and r.contacts == 20 for r in results)
    assert members(segments[0]) == {c.pk for c in contacts[1::2]}


def test_two_refreshers_at_once_never_do_the_same_work_twice(freshness):
    contacts = [ContactFactory(job_role="decision_maker") for _ in range(30)]
    segments = [live(f"Contoso {n}", CONTOSO) for n in range(6)]
    drain()
    for contact in contacts:
        lead_create(parent_contact=contact, topic="Contoso Ltd Conference")
    start = threading.Barrier(2)
    results: list = []

    def refresher():
        try:
            start.wait()
            results.extend(segments_refresh_pending())
        finally:
            connection.close()

    threads = [threading.Thread(target=refresher) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    results += drain()
    done = [r.segment_id for r in results if not r.skipped]
    assert sorted(done) == sorted(s.pk for s in segments)  # each segment's batch evaluated once
    assert sum(r.added for r in results) == 30 * 6
    for segment in segments:
        joins = SegmentMembershipEvent.objects.filter(segment=segment, change="joined").count()
        assert members(segment) == {c.pk for c in contacts} and joins == 30


def test_a_segment_being_refreshed_is_skipped_and_done_after(freshness):
    ada = ContactFactory(job_role="decision_maker")
    segment = live("Contoso", CONTOSO)
    drain()
    lead_create(parent_contact=ada, topic="Contoso Ltd Conference")
    holding, release = threading.Event(), threading.Event()

    def other_refresher():
        try:
            with transaction.atomic():
                refresh_lock(segment.pk, wait=True)
                holding.set()
                release.wait(10)
        finally:
            connection.close()

    thread = threading.Thread(target=other_refresher)
    thread.start()
    holding.wait(10)
    try:
        assert segment_refresh_pending(segment_id=segment.pk) is None
        assert segments_refresh_pending(seconds=1) == [] and pending.dirty() == {segment.pk}
    finally:
        release.set()
        thread.join()
    drain()
    assert members(segment) == {ada.pk}


def test_work_a_refresher_took_and_never_finished_is_done_by_the_next_one(freshness):
    ada = ContactFactory(job_role="decision_maker")
    segment = live("Contoso", CONTOSO)
    drain()
    lead_create(parent_contact=ada, topic="Contoso Ltd Conference")
    with transaction.atomic():  # a refresher took the work, then its process died before the diff
        refresh_lock(segment.pk, wait=True)
        assert pending.take(segment.pk).keys() == {f"c:{ada.pk}"}
        transaction.set_rollback(True)
    assert pending.dirty() == set()
    drain()  # the next run finds what was left behind
    assert members(segment) == {ada.pk}


def test_a_failing_refresh_puts_its_work_back(freshness, monkeypatch):
    ada = ContactFactory(job_role="decision_maker")
    segment = live("Contoso", CONTOSO)
    drain()
    lead_create(parent_contact=ada, topic="Contoso Ltd Conference")

    def broken(*args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr("segments.incremental.refresh_contacts_locked", broken)
    with pytest.raises(RuntimeError):
        segment_refresh_pending(segment_id=segment.pk)  # one segment alone
    assert pending.dirty() == {segment.pk}
    with pytest.raises(RuntimeError):
        segments_refresh_pending()  # a pass over several in one transaction
    monkeypatch.undo()
    assert pending.dirty() == {segment.pk}
    drain()
    assert members(segment) == {ada.pk}


def test_relative_time_segments_are_evaluated_in_full_when_their_windows_moved(freshness):
    ada = ContactFactory()
    this_week = where(related("interactions", field("occurred_at", "in_last_days", 7)))
    clicked = live("clicked this week", this_week)
    live("Contoso", CONTOSO)
    drain()
    almost_a_week_ago = timezone.now() - timedelta(days=6, hours=23, minutes=30)
    click = {"contact_id": ada.pk, "kind": "email_click", "occurred_at": almost_a_week_ago}
    interactions_record(rows=[click])
    drain()
    assert members(clicked) == {ada.pk}
    assert segments_refresh_relative() == []  # refreshed just now: not due
    later = timezone.now() + timedelta(hours=1)
    assert segments_refresh_relative(now=later) == [clicked.pk]
    Segment.objects.filter(pk=clicked.pk).update(refreshed_at=timezone.now() - timedelta(hours=1))
    with pytest.MonkeyPatch.context() as patch:  # an hour on, the click left the 7-day window
        patch.setattr("django.utils.timezone.now", lambda: later)
        [result] = drain()
    assert result.full and members(clicked) == set()


def test_without_redis_a_change_marks_its_entity_for_a_full_refresh(freshness):
    from django.core.cache import cache

    from segments.freshness import segments_refresh_changed

    ada = ContactFactory(job_role="decision_maker")
    segment = live("Contoso", CONTOSO)
    drain()
    cache.delete_many([DIRTY_KEY.format(entity=e) for e in ("lead", "contact")])
    with override_settings(REDIS_URL=""):
        lead_create(parent_contact=ada, topic="Contoso Ltd Conference")
        marked = {entity for entity in ("lead", "contact") if cache.get(DIRTY_KEY.format(entity=entity))}
        assert marked == {"lead"}
        [result] = segments_refresh_changed()
    assert pending.dirty() == set()  # nothing went into Redis (read with its URL back)
    assert result.full and members(segment) == {ada.pk}
