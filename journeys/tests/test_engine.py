import smtplib
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend
from django.db import IntegrityError, connection, transaction
from django.test import Client
from django.utils import timezone

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

from .. import adapters, engine, services
from ..models import (
    Enrollment,
    ExecutionOutcome,
    OutboundEmail,
    StepExecution,
)
from ..selectors import journey_stats
from .factories import SegmentMemberFactory, make_journey, send_email_step

pytestmark = pytest.mark.django_db


SQL_PATHS = ("postgresql", "portable")


def pytest_generate_tests(metafunc):
    """Every test here runs on the PostgreSQL statements and on the portable ORM path that the
    embedded SQLite default uses, except those made for one path (@postgresql_only, @portable_only),
    which are generated for that path alone."""
    if "sql_path" in metafunc.fixturenames:
        metafunc.parametrize("sql_path", getattr(metafunc.function, "sql_paths", SQL_PATHS), indirect=True)


@pytest.fixture(autouse=True)
def sql_path(request, monkeypatch):
    if request.param == "portable":
        monkeypatch.setattr(engine, "postgres_sql", lambda: False)
    return request.param


def postgresql_only(test):
    """Row and advisory locks: only the PostgreSQL path has them."""
    test.sql_paths = ("postgresql",)
    return test


def portable_only(test):
    test.sql_paths = ("portable",)
    return test


def live(journey):
    return services.journey_go_live(journey=journey)


def tick(now=None):
    return services.journeys_tick(now=now, inline=True)


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


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"do_not_bulk_email": True}, adapters.BLOCK_DO_NOT_BULK_EMAIL),
        ({"do_not_email": True}, adapters.BLOCK_DO_NOT_EMAIL),
        ({"is_minor": True}, adapters.BLOCK_MINOR),
        ({"consent_level": 1}, adapters.BLOCK_CONSENT_LEVEL),
        ({"email": None}, adapters.BLOCK_NO_EMAIL),
    ],
)
def test_consent_skips_are_recorded_with_their_reason(fields, reason):
    blocked = ContactFactory(**fields)
    allowed = ContactFactory(is_minor=True, guardian_consent=True)
    for contact in (blocked, allowed):
        SegmentMemberFactory(segment_id=1, contact=contact)
    live(make_journey(steps=[send_email_step()]))
    tick()
    assert [m.to for m in mail.outbox] == [[allowed.email]]
    execution = StepExecution.objects.get(enrollment__contact=blocked)
    assert (execution.outcome, execution.detail) == (ExecutionOutcome.SKIPPED_CONSENT, reason)


def test_unsubscribed_from_the_journeys_list_is_skipped_even_if_it_happens_after_the_step_ran():
    newsletter = SubscriptionListFactory()
    early = ListMembershipFactory(
        subscription_list=newsletter, status=SubscriptionStatus.UNSUBSCRIBED
    ).contact
    late = ContactFactory()
    for contact in (early, late):
        SegmentMemberFactory(segment_id=1, contact=contact)
    live(make_journey(steps=[send_email_step()], subscription_list=newsletter))
    tick()  # enters and queues
    assert len(mail.outbox) == 1  # `late` got it, `early` was skipped at the step
    outbox_ids = engine.run_batch(enrollment_ids=[])  # nothing due
    assert outbox_ids == []
    # Consent is checked again when the outbox is sent.
    row = OutboundEmail.objects.get(contact=late)
    OutboundEmail.objects.filter(pk=row.pk).update(status="pending")
    ListMembership.objects.create(
        subscription_list=newsletter, contact=late, status=SubscriptionStatus.UNSUBSCRIBED
    )
    engine.send_outbox(outbox_ids=[row.pk])
    row.refresh_from_db()
    assert (row.status, row.skip_reason) == ("skipped", adapters.BLOCK_UNSUBSCRIBED)
    assert len(mail.outbox) == 1


def test_a_batch_run_twice_or_a_step_recorded_twice_never_sends_twice():
    contacts = [SegmentMemberFactory(segment_id=1).contact for _ in range(3)]
    journey = live(make_journey(steps=[send_email_step(), {"key": "done", "kind": "end"}]))
    now = timezone.now()
    engine.enter_contacts(journey=journey, now=now)
    ids = list(Enrollment.objects.values_list("id", flat=True))
    first = engine.run_batch(enrollment_ids=ids, now=now)
    second = engine.run_batch(enrollment_ids=ids, now=now)  # a retried task
    assert len(first) == 3 and second == []
    engine.send_outbox(outbox_ids=first)
    engine.send_outbox(outbox_ids=first)  # a retried send
    assert sorted(m.to[0] for m in mail.outbox) == sorted(c.email for c in contacts)
    execution = StepExecution.objects.filter(step__key="welcome").first()
    with pytest.raises(IntegrityError), transaction.atomic():
        StepExecution.objects.create(
            enrollment=execution.enrollment,
            seq=execution.seq,
            journey=journey,
            step=execution.step,
            outcome="done",
            executed_at=now,
        )


@postgresql_only
def test_claims_of_a_dead_sender_go_back_to_pending_but_a_live_senders_do_not():
    SegmentMemberFactory(segment_id=1)
    SegmentMemberFactory(segment_id=1)
    journey = live(make_journey(steps=[send_email_step()]))
    now = timezone.now()
    engine.enter_contacts(journey=journey, now=now)
    first, second = engine.run_batch(enrollment_ids=list(Enrollment.objects.values_list("id", flat=True)))
    OutboundEmail.objects.filter(pk=first).update(status="sending", claim_id=111)
    OutboundEmail.objects.filter(pk=second + 0).update(status="sending", claim_id=222)
    OutboundEmail.objects.filter(pk=first).update(sent_at=timezone.now())  # SMTP had accepted it
    from django.db import connections

    # Another connection (a live sender) holds claim 222's lock.
    other = connections.create_connection("default")
    with other.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s, %s)", [engine.ADVISORY_NAMESPACE, 222])
    try:
        assert engine.release_dead_claims() == 1
    finally:
        other.close()
    assert OutboundEmail.objects.get(pk=first).status == "sent"
    assert Interaction.objects.get(kind="email_sent").properties["outbox"] == first
    assert OutboundEmail.objects.get(pk=second).status == "sending"


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
        assert engine.split_bucket(execution.enrollment_id, execution.step_id) < 30
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
        entered = engine.enter_contacts(journey=journey, now=timezone.now())
    assert entered == 30
    assert sum("INSERT INTO journeys_enrollment" in q["sql"] for q in queries.captured_queries) == 1


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_a_tick_entering_contacts_does_not_deadlock_with_a_worker_mid_batch(monkeypatch):
    """A worker's open batch has updated an enrollment and then inserts rows that reference the
    journey (foreign-key checks lock the journey row KEY SHARE) while the tick enters contacts."""
    import threading

    from django.db import connections

    from ..tasks import journeys_run_batch

    monkeypatch.setattr(journeys_run_batch, "delay", lambda ids: None)
    contact = SegmentMemberFactory(segment_id=1).contact
    journey = live(make_journey(steps=[{"key": "w", "kind": "wait_duration", "config": {"days": 1}}]))
    engine.enter_contacts(journey=journey, now=timezone.now())
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


@portable_only
def test_without_locks_a_claim_is_finished_once_it_is_older_than_the_lease(settings):
    settings.JOURNEYS_DISPATCH_LEASE_SECONDS = 600
    SegmentMemberFactory(segment_id=1)
    SegmentMemberFactory(segment_id=1)
    journey = live(make_journey(steps=[send_email_step()]))
    engine.enter_contacts(journey=journey, now=timezone.now())
    first, second = engine.run_batch(enrollment_ids=list(Enrollment.objects.values_list("id", flat=True)))
    old = timezone.now() - timedelta(seconds=601)
    OutboundEmail.objects.filter(pk=first).update(
        status="sending", claim_id=111, claimed_at=old, sent_at=timezone.now()
    )
    OutboundEmail.objects.filter(pk=second).update(status="sending", claim_id=222, claimed_at=timezone.now())
    assert engine.release_dead_claims() == 1  # 222 may still be sending
    assert OutboundEmail.objects.get(pk=first).status == "sent"
    assert Interaction.objects.get(kind="email_sent").properties["outbox"] == first
    assert OutboundEmail.objects.get(pk=second).status == "sending"
    OutboundEmail.objects.filter(pk=second).update(claimed_at=old)
    assert engine.release_dead_claims() == 1
    assert OutboundEmail.objects.get(pk=second).status == "pending"  # never accepted: sent by the sweep


class RefusingBackend(BaseEmailBackend):
    """Refuses every message to an address starting with "refuse"; delivers the rest to mail.outbox."""

    def send_messages(self, email_messages):
        for message in email_messages:
            if message.to[0].startswith("refuse"):
                raise smtplib.SMTPRecipientsRefused({message.to[0]: (550, b"mailbox unavailable")})
            mail.outbox.append(message)
        return len(email_messages)


def test_a_refused_message_goes_back_to_pending_and_the_rest_of_the_batch_is_sent(settings):
    settings.EMAIL_BACKEND = f"{__name__}.RefusingBackend"
    refused = SegmentMemberFactory(segment_id=1, contact=ContactFactory(email="refuse@example.com")).contact
    others = [SegmentMemberFactory(segment_id=1).contact for _ in range(2)]
    live(make_journey(steps=[send_email_step()]))
    tick()
    assert sorted(m.to[0] for m in mail.outbox) == sorted(c.email for c in others)
    row = OutboundEmail.objects.get(contact=refused)
    assert (row.status, row.sent_at, row.claim_id, row.attempts) == ("pending", None, None, 1)
    assert "mailbox unavailable" in row.error
    assert OutboundEmail.objects.filter(status="sent").count() == 2
    assert Interaction.objects.filter(kind="email_sent").count() == 2
