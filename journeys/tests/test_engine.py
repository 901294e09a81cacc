"""The engine on both SQL paths (see engine_support.py): entry, exits, the tick, every step kind,
and what steps announce. Sending and the outbox are test_outbox.py."""

from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.core import mail
from django.db import connection
from django.test import Client
from django.utils import timezone

from crm_core import tasking
from crm_core.events import RecordsChanged
from crm_core.models import (
    ConsentChange,
    ConsentLevel,
    Contact,
    Interaction,
    Lead,
    ListMembership,
    SubscriptionStatus,
)
from crm_core.tests.factories import (
    ContactFactory,
    LeadFactory,
    ListMembershipFactory,
    SubscriptionListFactory,
    UserFactory,
)
from sales.models import Task
from segments.models import Segment, SegmentKind, SegmentMembership

from .. import adapters, services
from ..engine import entry
from ..engine.steps.split import split_bucket
from ..models import (
    Enrollment,
    StepExecution,
)
from ..selectors import journey_stats
from .engine_support import live, postgresql_only, tick
from .factories import SegmentMemberFactory, make_journey, send_email_step

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("sql_path")]


def test_segment_members_enter_set_based_and_suppression_keeps_people_out():
    members = [SegmentMemberFactory(segment_id=1).contact for _ in range(5)]
    SegmentMemberFactory(segment_id=2, contact=members[0])
    journey = live(make_journey(steps=[{"key": "done", "kind": "end"}], suppression_segment_id=2))
    report = tick()
    assert report.entered == 4
    enrolled = set(Enrollment.objects.filter(journey=journey).values_list("contact_id", flat=True))
    assert enrolled == {c.pk for c in members[1:]}
    # A later tick does not enter anyone twice; someone who joins later enters.
    late = SegmentMemberFactory(segment_id=1).contact
    tick()
    assert Enrollment.objects.filter(journey=journey).count() == 5
    assert Enrollment.objects.get(journey=journey, contact=late).state == "completed"


def test_reentry_only_when_allowed_and_only_after_rejoining():
    contact = SegmentMemberFactory(segment_id=1).contact
    once = live(make_journey(name="once", steps=[{"key": "done", "kind": "end"}]))
    again = live(make_journey(name="again", steps=[{"key": "done", "kind": "end"}], allow_reentry=True))
    tick()
    tick()  # still a member, nothing new: no re-entry
    assert Enrollment.objects.get(journey=again).entry_number == 1
    SegmentMembership.objects.filter(contact=contact).update(added_at=timezone.now() + timedelta(seconds=1))
    tick(now=timezone.now() + timedelta(seconds=2))
    assert Enrollment.objects.get(journey=again).entry_number == 2
    assert Enrollment.objects.get(journey=once).entry_number == 1
    assert StepExecution.objects.filter(enrollment__journey=again).count() == 2


def test_send_wait_branch_on_open_and_end():
    opener = ContactFactory(first_name="<b>Ann</b>", consent_level=ConsentLevel.TRACKING)
    other = ContactFactory(consent_level=ConsentLevel.TRACKING)
    for contact in (opener, other):
        SegmentMemberFactory(segment_id=1, contact=contact)
    owner = UserFactory()
    Contact.objects.filter(pk=opener.pk).update(owner=owner)
    journey = live(
        make_journey(
            steps=[
                send_email_step(),
                {"key": "pause", "kind": "wait_duration", "config": {"days": 2}},
                {
                    "key": "opened",
                    "kind": "if_interaction",
                    "config": {"kind": "email_open", "email_step": "welcome", "wait_up_to_seconds": 3600},
                    "next": "call",
                    "else": "nudge",
                },
                {"key": "call", "kind": "create_task", "config": {"title": "Call them"}, "next": None},
                {"key": "nudge", "kind": "update_field", "config": {"field": "job_title", "value": "cold"}},
            ]
        )
    )
    tick()
    assert len(mail.outbox) == 2
    message = next(m for m in mail.outbox if m.to == [opener.email])
    html = message.alternatives[0][0]
    assert "&lt;b&gt;Ann&lt;/b&gt;" in html and "<b>Ann</b>" not in html
    assert "https://example.com/offer" not in html and "/t/c/" in html
    assert "mailto:help@example.com" in html
    assert "/preferences/" in html and "/preferences/" in message.body
    assert message.extra_headers["List-Unsubscribe"].startswith("<http")
    # The unsubscribe link opens this contact's subscription center.
    unsubscribe = message.extra_headers["List-Unsubscribe"].strip("<>")
    page = Client().get(urlsplit(unsubscribe).path, follow=True)
    assert page.status_code == 200 and opener.email in page.content.decode()
    pixel = html.split('src="')[-1].split('"')[0]
    assert Enrollment.objects.filter(journey=journey, state="waiting").count() == 2

    assert Client().get(pixel.replace("http://127.0.0.1:8000", "")).status_code == 200
    later = timezone.now() + timedelta(days=2, seconds=1)
    tick(now=later)
    # The opener took the yes branch at once; the other waits up to an hour for an open.
    task = Task.objects.get()
    assert (task.owner, task.source, task.journey_id) == (owner, "journey", journey.pk)
    assert Enrollment.objects.get(contact=opener).state == "completed"
    assert Enrollment.objects.get(contact=other).state == "waiting"
    tick(now=later + timedelta(hours=1, seconds=1))
    assert Contact.objects.get(pk=other.pk).job_title == "cold"
    assert Enrollment.objects.get(contact=other).state == "completed"
    stats = journey_stats(journey=journey)
    assert (stats["entered"], stats["completed"], stats["sent"], stats["opened"]) == (2, 2, 2, 1)
    opened = next(s for s in stats["steps"] if s["key"] == "opened")
    assert (opened["yes"], opened["no"]) == (1, 1)


def test_exit_on_sales_ready_before_the_next_step():
    contact = SegmentMemberFactory(segment_id=1).contact
    lead = LeadFactory(parent_contact=contact)
    journey = live(
        make_journey(
            steps=[
                {"key": "pause", "kind": "wait_duration", "config": {"hours": 1}},
                send_email_step(),
            ]
        )
    )
    tick()
    Lead.objects.filter(pk=lead.pk).update(sales_ready=True)
    tick(now=timezone.now() + timedelta(hours=2))
    enrollment = Enrollment.objects.get(journey=journey)
    assert (enrollment.state, enrollment.exit_reason) == ("exited", "sales_ready")
    assert mail.outbox == []


def test_split_is_deterministic_and_near_its_percentage():
    for _ in range(200):
        SegmentMemberFactory(segment_id=1)
    journey = live(
        make_journey(
            steps=[
                {"key": "ab", "kind": "split", "config": {"percent": 30}, "next": "a", "else": "b"},
                {"key": "a", "kind": "end"},
                {"key": "b", "kind": "end"},
            ]
        )
    )
    tick()
    a = StepExecution.objects.filter(step__key="ab", outcome="yes")
    assert 35 <= a.count() <= 85
    for execution in a:
        assert split_bucket(execution.enrollment_id, execution.step_id) < 30
    assert StepExecution.objects.filter(step__key="a").count() == a.count()
    assert journey.enrollments.filter(state="completed").count() == 200


def test_action_steps_lead_field_lists_segments_and_condition():
    Segment.objects.create(pk=9, name="VIPs", kind=SegmentKind.STATIC)
    newsletter = SubscriptionListFactory()
    gone = SubscriptionListFactory()
    maker = ContactFactory(job_role="decision_maker")
    user = ContactFactory(job_role="end_user")
    ListMembershipFactory(subscription_list=newsletter, contact=user, status=SubscriptionStatus.UNSUBSCRIBED)
    ListMembershipFactory(subscription_list=gone, contact=maker)
    for contact in (maker, user):
        SegmentMemberFactory(segment_id=1, contact=contact)
    live(
        make_journey(
            steps=[
                {
                    "key": "who",
                    "kind": "if_condition",
                    "config": {
                        "condition": {
                            "match": "all",
                            "conditions": [{"field": "job_role", "op": "eq", "value": "decision_maker"}],
                        }
                    },
                    "next": "lead",
                    "else": "subscribe",
                },
                {"key": "lead", "kind": "create_lead", "config": {"topic": "Contoso Ltd Conference"}},
                {"key": "unlist", "kind": "list_remove", "config": {"list": gone.pk}},
                {"key": "static", "kind": "segment_add", "config": {"segment": 9}, "next": None},
                {"key": "subscribe", "kind": "list_add", "config": {"list": newsletter.pk}},
                {"key": "country", "kind": "update_field", "config": {"field": "country", "value": "France"}},
            ]
        )
    )
    tick()
    lead = Lead.objects.get(parent_contact=maker)
    assert (lead.topic, lead.source, lead.email) == ("Contoso Ltd Conference", "journey", maker.email)
    left = ListMembership.objects.get(contact=maker, subscription_list=gone)  # kept, marked as left
    assert left.status == "unsubscribed" and left.unsubscribed_at is not None
    assert list(adapters.segment_member_ids(9)) == [maker.pk]
    # The journey never re-subscribes someone who unsubscribed.
    assert ListMembership.objects.get(contact=user, subscription_list=newsletter).status == "unsubscribed"
    assert Contact.objects.get(pk=user.pk).country == "France"
    assert Contact.objects.get(pk=maker.pk).country == "Germany"


def _consent_trail():
    return sorted(
        ConsentChange.objects.values_list(
            "contact_id", "field", "subscription_list_id", "old_value", "new_value", "source"
        )
    )


def test_list_remove_step_keeps_the_membership_as_unsubscribed_and_records_the_change():
    newsletter = SubscriptionListFactory()
    member = ListMembershipFactory(subscription_list=newsletter).contact
    left = ListMembershipFactory(subscription_list=newsletter, status=SubscriptionStatus.UNSUBSCRIBED).contact
    for contact in (member, left):
        SegmentMemberFactory(segment_id=1, contact=contact)
    live(make_journey(steps=[{"key": "leave", "kind": "list_remove", "config": {"list": newsletter.pk}}]))
    tick()
    memberships = ListMembership.objects.filter(subscription_list=newsletter)
    assert dict(memberships.values_list("contact_id", "status")) == {
        member.pk: "unsubscribed",
        left.pk: "unsubscribed",
    }
    assert memberships.get(contact=member).unsubscribed_at is not None
    assert _consent_trail() == [(member.pk, "list", newsletter.pk, "subscribed", "unsubscribed", "journey")]


def test_list_add_step_records_who_joined_and_leaves_who_left_alone():
    newsletter = SubscriptionListFactory()
    left = ListMembershipFactory(subscription_list=newsletter, status=SubscriptionStatus.UNSUBSCRIBED).contact
    new = ContactFactory()
    for contact in (left, new):
        SegmentMemberFactory(segment_id=1, contact=contact)
    live(make_journey(steps=[{"key": "join", "kind": "list_add", "config": {"list": newsletter.pk}}]))
    tick()
    memberships = ListMembership.objects.filter(subscription_list=newsletter)
    assert dict(memberships.values_list("contact_id", "status")) == {
        left.pk: "unsubscribed",
        new.pk: "subscribed",
    }
    assert _consent_trail() == [(new.pk, "list", newsletter.pk, "", "subscribed", "journey")]


def test_update_field_step_on_a_consent_field_records_only_the_contacts_whose_value_changed():
    opted_out = ContactFactory(do_not_bulk_email=True)
    others = [ContactFactory(), ContactFactory()]
    for contact in (opted_out, *others):
        SegmentMemberFactory(segment_id=1, contact=contact)
    sunset = {
        "key": "sunset",
        "kind": "update_field",
        "config": {"field": "do_not_bulk_email", "value": True},
    }
    live(make_journey(steps=[sunset]))
    tick()
    assert Contact.objects.filter(do_not_bulk_email=True).count() == 3
    assert _consent_trail() == sorted(
        (c.pk, "do_not_bulk_email", None, "False", "True", "journey") for c in others
    )


def test_step_writes_and_sent_emails_announce_what_they_changed(notices, django_capture_on_commit_callbacks):
    newsletter, gone = SubscriptionListFactory(), SubscriptionListFactory()
    ann, bob = ContactFactory(country="Germany"), ContactFactory(country="France")
    ListMembershipFactory(subscription_list=gone, contact=ann)
    for contact in (ann, bob):
        SegmentMemberFactory(segment_id=1, contact=contact)
    live(
        make_journey(
            steps=[
                send_email_step(),
                {"key": "move", "kind": "update_field", "config": {"field": "country", "value": "France"}},
                {"key": "join", "kind": "list_add", "config": {"list": newsletter.pk}},
                {"key": "leave", "kind": "list_remove", "config": {"list": gone.pk}},
            ]
        )
    )
    with django_capture_on_commit_callbacks(execute=True):
        tick()
    both = frozenset({ann.pk, bob.pk})
    sent = frozenset(Interaction.objects.filter(kind="email_sent").values_list("pk", flat=True))
    assert len(sent) == 2
    memberships = {(m.subscription_list_id, m.contact_id): m.pk for m in ListMembership.objects.all()}
    expected = [
        RecordsChanged(
            "contact", "updated", frozenset({ann.pk}), frozenset({ann.pk}), frozenset({"country"})
        ),
        RecordsChanged(
            "subscription", "created", frozenset(memberships[(newsletter.pk, c)] for c in both), both
        ),
        RecordsChanged(
            "subscription", "created", frozenset({memberships[(gone.pk, bob.pk)]}), frozenset({bob.pk})
        ),
        RecordsChanged(
            "subscription",
            "updated",
            frozenset({memberships[(gone.pk, ann.pk)]}),
            frozenset({ann.pk}),
            frozenset({"status"}),
        ),
        RecordsChanged("interaction", "created", sent, both),
    ]
    assert sorted(notices, key=repr) == sorted(expected, key=repr)


def test_paused_journeys_do_not_move_and_stop_exits_everyone():
    SegmentMemberFactory(segment_id=1)
    journey = live(make_journey(steps=[{"key": "w", "kind": "wait_duration", "config": {"seconds": 1}}]))
    tick()
    services.journey_pause(journey=journey)
    tick(now=timezone.now() + timedelta(seconds=5))
    assert Enrollment.objects.get().state == "waiting"
    services.journey_stop(journey=journey)
    assert Enrollment.objects.get().exit_reason == "journey_stopped"


def test_trigger_journey_enters_on_form_submissions_after_it_went_live():
    from crm_core.tests.factories import InteractionFactory
    from landing.tests.factories import LandingPageFactory

    LandingPageFactory(slug="webinar")
    before = InteractionFactory(
        kind="form_submit", properties={"form": "webinar"}, occurred_at=timezone.now() - timedelta(seconds=1)
    )
    journey = live(
        make_journey(
            entry_type="trigger",
            trigger_kind="form_submit",
            trigger_config={"page": "webinar"},
            steps=[send_email_step()],
        )
    )
    InteractionFactory(kind="form_submit", properties={"form": "other"})
    after = InteractionFactory(kind="form_submit", properties={"form": "webinar"})
    tick()
    assert [e.contact_id for e in journey.enrollments.all()] == [after.contact_id]
    assert before.contact_id != after.contact_id
    assert len(mail.outbox) == 1


def test_enter_query_is_one_statement():
    for _ in range(30):
        SegmentMemberFactory(segment_id=1)
    journey = live(make_journey(steps=[{"key": "done", "kind": "end"}]))
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        entered = entry.enter_contacts(journey=journey, now=timezone.now())
    assert entered == 30
    assert sum("INSERT INTO journeys_enrollment" in q["sql"] for q in queries.captured_queries) == 1


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_a_tick_entering_contacts_does_not_deadlock_with_a_worker_mid_batch(monkeypatch):
    """A worker's open batch has updated an enrollment and then inserts rows that reference the
    journey (foreign-key checks lock the journey row KEY SHARE) while the tick enters contacts."""
    import threading

    from django.db import connections

    monkeypatch.setattr(tasking.task_by_name("journeys.run_batch"), "apply_async", lambda *a, **kw: None)
    contact = SegmentMemberFactory(segment_id=1).contact
    journey = live(make_journey(steps=[{"key": "w", "kind": "wait_duration", "config": {"days": 1}}]))
    entry.enter_contacts(journey=journey, now=timezone.now())
    enrollment = Enrollment.objects.get(contact=contact)
    worker = connections.create_connection("default")
    worker.set_autocommit(False)
    try:
        with worker.cursor() as cursor:
            cursor.execute("SET statement_timeout = '10s'")
            cursor.execute(
                "UPDATE journeys_enrollment SET state = 'waiting', seq = seq + 1 WHERE id = %s",
                [enrollment.pk],
            )
        errors = []

        def run_tick():
            try:
                services.journeys_tick()
            except Exception as error:  # noqa: BLE001 (reported by the assertion below)
                errors.append(error)
            finally:
                connections.close_all()

        ticker = threading.Thread(target=run_tick)
        ticker.start()
        ticker.join(timeout=1.0)  # the tick is done, or (the old way) waiting on the worker's row
        with worker.cursor() as cursor:  # the worker's batch goes on: no deadlock, no wait
            cursor.execute(
                "INSERT INTO journeys_stepexecution (enrollment_id, seq, entry_number, journey_id,"
                " step_id, outcome, detail, executed_at)"
                " SELECT id, 0, 1, journey_id, current_step_id, 'done', '', now()"
                " FROM journeys_enrollment WHERE id = %s",
                [enrollment.pk],
            )
        worker.commit()
        ticker.join(timeout=10)
        assert not ticker.is_alive() and errors == []
    finally:
        worker.close()
