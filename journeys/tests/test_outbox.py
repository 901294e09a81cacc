"""The outbox and sending on both SQL paths (see engine_support.py): consent decided at the step
and again at send time, a batch or a send run twice, the claims of dead senders, refused messages."""

import smtplib
from datetime import timedelta

import pytest
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend
from django.db import IntegrityError, transaction
from django.utils import timezone

from crm_core.models import (
    Interaction,
    ListMembership,
    SubscriptionStatus,
)
from crm_core.tests.factories import (
    ContactFactory,
    ListMembershipFactory,
    SubscriptionListFactory,
)

from .. import adapters
from ..engine import entry, outbox, outbox_sql, runner, sending
from ..models import (
    Enrollment,
    ExecutionOutcome,
    OutboundEmail,
    StepExecution,
)
from .engine_support import live, portable_only, postgresql_only, tick
from .factories import SegmentMemberFactory, make_journey, send_email_step

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("sql_path")]


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
    outbox_ids = runner.run_batch(enrollment_ids=[])  # nothing due
    assert outbox_ids == []
    # Consent is checked again when the outbox is sent.
    row = OutboundEmail.objects.get(contact=late)
    OutboundEmail.objects.filter(pk=row.pk).update(status="pending")
    ListMembership.objects.create(
        subscription_list=newsletter, contact=late, status=SubscriptionStatus.UNSUBSCRIBED
    )
    sending.send_outbox(outbox_ids=[row.pk])
    row.refresh_from_db()
    assert (row.status, row.skip_reason) == ("skipped", adapters.BLOCK_UNSUBSCRIBED)
    assert len(mail.outbox) == 1


def test_a_batch_run_twice_or_a_step_recorded_twice_never_sends_twice():
    contacts = [SegmentMemberFactory(segment_id=1).contact for _ in range(3)]
    journey = live(make_journey(steps=[send_email_step(), {"key": "done", "kind": "end"}]))
    now = timezone.now()
    entry.enter_contacts(journey=journey, now=now)
    ids = list(Enrollment.objects.values_list("id", flat=True))
    first = runner.run_batch(enrollment_ids=ids, now=now)
    second = runner.run_batch(enrollment_ids=ids, now=now)  # a retried task
    assert len(first) == 3 and second == []
    sending.send_outbox(outbox_ids=first)
    sending.send_outbox(outbox_ids=first)  # a retried send
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
    entry.enter_contacts(journey=journey, now=now)
    first, second = runner.run_batch(enrollment_ids=list(Enrollment.objects.values_list("id", flat=True)))
    OutboundEmail.objects.filter(pk=first).update(status="sending", claim_id=111)
    OutboundEmail.objects.filter(pk=second + 0).update(status="sending", claim_id=222)
    OutboundEmail.objects.filter(pk=first).update(sent_at=timezone.now())  # SMTP had accepted it
    from django.db import connections

    # Another connection (a live sender) holds claim 222's lock.
    other = connections.create_connection("default")
    with other.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s, %s)", [outbox_sql.ADVISORY_NAMESPACE, 222])
    try:
        assert outbox.release_dead_claims() == 1
    finally:
        other.close()
    assert OutboundEmail.objects.get(pk=first).status == "sent"
    assert Interaction.objects.get(kind="email_sent").properties["outbox"] == first
    assert OutboundEmail.objects.get(pk=second).status == "sending"


@portable_only
def test_without_locks_a_claim_is_finished_once_it_is_older_than_the_lease(settings):
    settings.JOURNEYS_DISPATCH_LEASE_SECONDS = 600
    SegmentMemberFactory(segment_id=1)
    SegmentMemberFactory(segment_id=1)
    journey = live(make_journey(steps=[send_email_step()]))
    entry.enter_contacts(journey=journey, now=timezone.now())
    first, second = runner.run_batch(enrollment_ids=list(Enrollment.objects.values_list("id", flat=True)))
    old = timezone.now() - timedelta(seconds=601)
    OutboundEmail.objects.filter(pk=first).update(
        status="sending", claim_id=111, claimed_at=old, sent_at=timezone.now()
    )
    OutboundEmail.objects.filter(pk=second).update(status="sending", claim_id=222, claimed_at=timezone.now())
    assert outbox.release_dead_claims() == 1  # 222 may still be sending
    assert OutboundEmail.objects.get(pk=first).status == "sent"
    assert Interaction.objects.get(kind="email_sent").properties["outbox"] == first
    assert OutboundEmail.objects.get(pk=second).status == "sending"
    OutboundEmail.objects.filter(pk=second).update(claimed_at=old)
    assert outbox.release_dead_claims() == 1
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


@postgresql_only
def test_the_batch_array_literals_round_trip_through_postgresql():
    from django.db import connection

    from ..engine.runner_sql import int_array, text_array

    texts = ["active", "", None, 'say "hi"', "back\\slash", "comma, {brace}", "active", "ünï"]
    numbers = [1, None, 2**40, 0, -3]
    with connection.cursor() as cursor:
        cursor.execute("SELECT %s::varchar[], %s::bigint[]", [text_array(texts), int_array(numbers)])
        assert cursor.fetchone() == (texts, numbers)


@pytest.mark.parametrize("in_flight", [1, 3, 200])
def test_every_mark_in_flight_is_committed_before_the_claim_is_finished(settings, in_flight):
    """The sender does not wait for each mark; a refusal in the middle of the batch (the connection
    leaves the pipeline for its update) and the end of the batch wait for those in flight."""
    settings.JOURNEYS_SEND_MARKS_IN_FLIGHT = in_flight
    settings.EMAIL_BACKEND = f"{__name__}.RefusingBackend"
    before = [SegmentMemberFactory(segment_id=1).contact for _ in range(7)]
    refused = SegmentMemberFactory(segment_id=1, contact=ContactFactory(email="refuse@example.com")).contact
    after = [SegmentMemberFactory(segment_id=1).contact for _ in range(5)]
    live(make_journey(steps=[send_email_step()]))
    tick()
    assert sorted(m.to[0] for m in mail.outbox) == sorted(c.email for c in before + after)
    sent = OutboundEmail.objects.filter(status="sent")
    assert sent.count() == 12 and not sent.filter(sent_at=None).exists()
    assert OutboundEmail.objects.get(contact=refused).status == "pending"
    assert Interaction.objects.filter(kind="email_sent").count() == 12
