"""The timeline: every source merged in time order, keyset pages without loss or repeats, filters,
bad input as 400, and index-served per-source queries."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.utils import timezone

from crm_core import consent
from crm_core.models import ConsentSource, Interaction, InteractionKind
from crm_core.services import lead_accept
from crm_core.tests.factories import AccountFactory, ContactFactory, InteractionFactory, LeadFactory
from leadscoring.models import SalesReadyCrossing
from leadscoring.tests.factories import PrimaryScoringModelFactory
from sales import services
from sales.models import Activity, Task
from sales.timeline import InvalidTimeline, kinds_from, source_queries, timeline_page
from segments.models import Segment, SegmentMembershipEvent

pytestmark = pytest.mark.django_db

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def history(sales_rep):
    account = AccountFactory(name="Contoso")
    contact = ContactFactory(parent_account=account, first_name="Ann")
    lead = LeadFactory(parent_contact=contact, topic="Contoso Ltd Conference")
    InteractionFactory(
        contact=contact, kind=InteractionKind.EMAIL_CLICK, occurred_at=T0, properties={"email": "Pricing"}
    )
    segment = Segment.objects.create(name="Hot prospects")
    SegmentMembershipEvent.objects.create(
        segment=segment, contact_id=contact.pk, change="joined", at=T0 + timedelta(minutes=1)
    )
    model = PrimaryScoringModelFactory(name="Main")
    SalesReadyCrossing.objects.create(
        lead=lead, model=model, crossed_at=T0 + timedelta(minutes=2), direction="up", score=120
    )
    task = services.task_create(actor=sales_rep, title="Call within 24 h", lead=lead)
    services.activity_log(
        actor=sales_rep, kind="call", subject="Intro", outcome="connected", duration_minutes=5, lead=lead
    )
    services.task_complete(actor=sales_rep, task=task)
    lead_accept(lead=lead, actor=sales_rep)
    consent.contact_preferences_update(
        contact=contact, changes={"do_not_bulk_email": True}, source=ConsentSource.ADMIN
    )
    return contact, lead, account


def test_the_contact_timeline_merges_every_source_newest_first(history):
    contact, lead, account = history
    entries = timeline_page("contact", contact.pk).entries
    kinds = [e.kind for e in entries]
    assert set(kinds) == {
        "interaction",
        "segment",
        "score",
        "task",
        "activity",
        "task_done",
        "status",
        "consent",
    }
    assert [e.at for e in entries] == sorted((e.at for e in entries), reverse=True)
    assert kinds[-3:] == ["score", "segment", "interaction"]  # the oldest, in the order they happened
    by_kind = {e.kind: e for e in entries}
    assert by_kind["interaction"].title == "Clicked the Pricing email"
    assert by_kind["activity"].title == "Call: Intro" and "Connected" in by_kind["activity"].detail
    assert by_kind["segment"].title == "Joined segment “Hot prospects”"
    assert "became sales ready at 120" in by_kind["score"].title
    # The lead's and the account's timelines hold the same work.
    assert {e.kind for e in timeline_page("lead", lead.pk).entries} == set(kinds)
    assert {"activity", "task", "task_done", "status", "interaction"} <= {
        e.kind for e in timeline_page("account", account.pk).entries
    }


def test_pages_lose_and_repeat_nothing_even_when_sources_tie_in_time(sales_rep):
    contact = ContactFactory()
    for i in range(7):
        InteractionFactory(contact=contact, occurred_at=T0 + timedelta(minutes=i // 2))
    for i in range(6):
        services.activity_log(
            actor=sales_rep,
            kind="note",
            subject=f"n{i}",
            occurred_at=T0 + timedelta(minutes=i // 3),
            contact=contact,
        )
    seen, cursor = [], None
    while True:
        page = timeline_page("contact", contact.pk, cursor=cursor, size=4)
        seen += [(e.kind, e.id) for e in page.entries]
        if not page.next_cursor:
            break
        cursor = page.next_cursor
    assert len(seen) == len(set(seen)) == 13
    assert seen == [(e.kind, e.id) for e in timeline_page("contact", contact.pk, size=50).entries]


def test_the_kind_filter(history):
    contact, *_ = history
    entries = timeline_page("contact", contact.pk, kinds=kinds_from(["task"])).entries
    assert {e.kind for e in entries} == {"task", "task_done"}
    with pytest.raises(InvalidTimeline):
        kinds_from(["gossip"])


def test_the_timeline_fragment_answers_bad_input_with_400(client, sales_rep, history):
    contact, *_ = history
    client.force_login(sales_rep)
    ok = client.get(f"/timeline/contact/{contact.pk}/")
    assert ok.status_code == 200 and "Clicked the Pricing email" in ok.content.decode()
    assert client.get(f"/timeline/contact/{contact.pk}/?kind=gossip").status_code == 400
    assert client.get(f"/timeline/contact/{contact.pk}/?cursor=nonsense").status_code == 400
    assert client.get(f"/timeline/contact/{contact.pk}/?cursor=WyJ4IiwgMSwgMl0=").status_code == 400
    assert client.get("/timeline/contact/999999/").status_code == 404
    assert client.get(f"/timeline/planet/{contact.pk}/").status_code == 404


def test_a_page_is_one_query_per_source(history, django_assert_num_queries):
    contact, *_ = history
    with django_assert_num_queries(8):
        timeline_page("contact", contact.pk)


def test_each_source_reads_an_index_led_by_the_record(sales_rep):
    contact = ContactFactory()
    now = timezone.now()
    Interaction.objects.bulk_create(
        Interaction(contact=contact, kind=InteractionKind.PAGE_VISIT, occurred_at=now - timedelta(minutes=i))
        for i in range(3000)
    )
    others = ContactFactory.create_batch(3)
    Interaction.objects.bulk_create(
        Interaction(contact=c, kind=InteractionKind.PAGE_VISIT, occurred_at=now - timedelta(minutes=i))
        for c in others
        for i in range(1000)
    )
    # Enough activities and tasks of other contacts that reading all of them would cost more.
    Activity.objects.bulk_create(
        Activity(
            kind="note", subject="n", contact=c, occurred_at=now - timedelta(minutes=i), author=sales_rep
        )
        for c in [contact, *others]
        for i in range(1000)
    )
    Task.objects.bulk_create(
        Task(title="t", contact=c, created_at=now - timedelta(minutes=i), done_at=now if i % 2 else None)
        for c in [contact, *others]
        for i in range(1000)
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE crm_core_interaction; ANALYZE sales_activity; ANALYZE sales_task")
    page = timeline_page("contact", contact.pk)
    cursor_token = page.next_cursor
    for token in (None, cursor_token):
        plans = {}
        for kind, _field, rows, _entry in source_queries("contact", contact.pk, cursor=token):
            if kind in ("interaction", "activity", "task", "task_done"):
                plans[kind] = rows.explain()
        assert "interaction_contact_at_id" in plans["interaction"], plans["interaction"]
        assert "activity_contact_at" in plans["activity"], plans["activity"]
        assert "Sort" not in plans["interaction"] and "Sort" not in plans["activity"]
        assert "task_contact_at" in plans["task"] and "task_contact_done" in plans["task_done"]
