"""Journeys on real Celery workers with Redis: only SMTP is replaced (by a backend that writes each
delivered message to a file, so counts survive the worker processes)."""

import os
import signal
import subprocess
import sys
import time
import uuid
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.utils import timezone

from conftest import ROOT, _database_url, stop_process_group, wait_for_worker_idle, wait_until
from crm_core.models import ConsentLevel, Contact, Interaction, Lead
from crm_core.tests.factories import ContactFactory, InteractionFactory, LeadFactory
from sales.models import Task
from segments.models import Segment, SegmentMembership
from segments.services import SCHEDULED_KEY, segment_create, segment_go_live

from .. import services
from ..models import Enrollment, OutboundEmail, StepExecution
from ..selectors import journey_stats
from ..tasks import journeys_tick
from .factories import SegmentMemberFactory, make_journey, send_email_step
from .mailbackend import delivered

WORKER_ENV = {
    "EMAIL_BACKEND": "journeys.tests.mailbackend.RecordingBackend",
    "JOURNEYS_CONDITION_RECHECK_SECONDS": "1",
}


@pytest.fixture
def mailbox(tmp_path, monkeypatch):
    """Request before celery_worker_process: the worker inherits this environment."""
    box = tmp_path / "mailbox"
    box.mkdir()
    for key, value in {**WORKER_ENV, "JOURNEYS_TEST_MAILBOX": str(box)}.items():
        monkeypatch.setenv(key, value)
    return box


def ticking(predicate):
    """A predicate that also asks the worker for a tick each time it is polled (beat, shortened)."""

    def poll():
        journeys_tick.delay()
        time.sleep(0.3)
        return predicate()

    return poll


def _html_of(box, email):
    return next(m["html"] for m in delivered(box) if m["to"] == [email])


@pytest.mark.worker
def test_live_segment_journey_sends_waits_branches_on_the_real_pixel_and_ends(mailbox, celery_worker_process):
    ann = ContactFactory(first_name="Ann", consent_level=ConsentLevel.TRACKING)  # the one who opens
    bob = ContactFactory(first_name="Bob")
    carl = ContactFactory(do_not_bulk_email=True)
    for contact in (ann, bob, carl):
        SegmentMemberFactory(segment_id=1, contact=contact)
    journey = make_journey(
        steps=[
            send_email_step(),
            {"key": "pause", "kind": "wait_duration", "config": {"seconds": 1}},
            {
                "key": "opened",
                "kind": "if_interaction",
                "config": {"kind": "email_open", "email_step": "welcome", "wait_up_to_seconds": 4},
                "next": "call",
                "else": "nudge",
            },
            {"key": "call", "kind": "create_task", "config": {"title": "Call Ann"}, "next": "done"},
            {"key": "nudge", "kind": "update_field", "config": {"field": "job_title", "value": "cold"}},
            {"key": "done", "kind": "end"},
        ]
    )
    services.journey_go_live(journey=journey)  # enqueues a tick on commit
    wait_until(ticking(lambda: len(delivered(mailbox)) == 2), timeout=30)
    # Someone who joins the live segment later enters too.
    dana = SegmentMemberFactory(segment_id=1).contact
    html = _html_of(mailbox, ann.email)
    assert "Hello Ann" in html
    pixel = html.split('<img src="')[1].split('"')[0].replace("http://127.0.0.1:8000", "")
    assert Client().get(pixel).status_code == 200

    def finished():
        return journey.enrollments.filter(state="completed").count() == 4

    wait_until(ticking(finished), timeout=40)
    assert Task.objects.get().contact_id == ann.pk
    assert set(Contact.objects.filter(job_title="cold").values_list("pk", flat=True)) == {
        bob.pk,
        carl.pk,
        dana.pk,
    }
    assert sorted(m["to"][0] for m in delivered(mailbox)) == sorted([ann.email, bob.email, dana.email])
    skipped = StepExecution.objects.get(enrollment__contact=carl, step__key="welcome")
    assert (skipped.outcome, skipped.detail) == ("skipped_consent", "do_not_bulk_email")
    stats = journey_stats(journey=journey)
    assert (
        stats["entered"],
        stats["completed"],
        stats["sent"],
        stats["opened"],
        stats["skipped_consent"],
    ) == (4, 4, 3, 1, 1)
    assert Interaction.objects.filter(kind="email_sent").count() == 3


@pytest.mark.worker
def test_trigger_journey_starts_on_a_form_submission_and_exits_when_sales_ready(
    mailbox, celery_worker_process
):
    from landing.tests.factories import LandingPageFactory

    page = LandingPageFactory(slug="spring-webinar")
    contact = ContactFactory()
    lead = LeadFactory(parent_contact=contact)
    journey = make_journey(
        entry_type="trigger",
        trigger_kind="form_submit",
        trigger_config={"page": page.pk},
        steps=[
            send_email_step(),
            {"key": "pause", "kind": "wait_duration", "config": {"seconds": 2}},
            send_email_step(key="second"),
        ],
    )
    services.journey_go_live(journey=journey)
    InteractionFactory(
        contact=contact, kind="form_submit", properties={"landing_page_id": page.pk, "form": page.slug}
    )
    wait_until(ticking(lambda: len(delivered(mailbox)) == 1), timeout=30)
    Lead.objects.filter(pk=lead.pk).update(sales_ready=True)
    enrollment = wait_until(ticking(lambda: journey.enrollments.filter(state="exited").first()), timeout=30)
    assert enrollment.exit_reason == "sales_ready"
    # Once the pause would have ended, a tick sends nothing more: wait for the worker to finish it.
    pause_over = enrollment.finished_at + timedelta(seconds=2)  # a pause begun before the exit is over
    wait_until(lambda: timezone.now() > pause_over, timeout=10)
    journeys_tick.delay()
    wait_for_worker_idle(celery_worker_process.queue)
    assert len(delivered(mailbox)) == 1


# --- Fault test: SIGKILL in the middle of a batch of sends -----------------------------------------


def _start_worker(queue: str, env_extra: dict, log_path):
    env = dict(
        os.environ,
        DATABASE_URL=_database_url(connection.settings_dict),
        CELERY_TASK_DEFAULT_QUEUE=queue,
        **env_extra,
    )
    command = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "config",
        "worker",
        "--pool=prefork",
        "--concurrency=2",
        "-Q",
        queue,
        "-n",
        f"{queue}@%h",
        "--without-gossip",
        "--without-mingle",
        "--loglevel=INFO",
    ]
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    wait_until(lambda: "ready." in log_path.read_text() or process.poll() is not None, timeout=60)
    assert process.poll() is None, log_path.read_text()
    return process


@pytest.mark.worker
def test_worker_killed_mid_batch_every_enrollment_gets_its_email_exactly_once(transactional_db, tmp_path):
    from config.celery_app import app

    box = tmp_path / "mailbox"
    box.mkdir()
    queue = f"test-{uuid.uuid4().hex[:10]}"
    previous_queue = app.conf.task_default_queue
    app.conf.task_default_queue = queue
    env = {**WORKER_ENV, "JOURNEYS_TEST_MAILBOX": str(box), "JOURNEYS_BATCH_SIZE": "20"}
    contacts = [SegmentMemberFactory(segment_id=1).contact for _ in range(60)]
    journey = make_journey(steps=[send_email_step(), {"key": "done", "kind": "end"}])
    workers = []
    try:
        # Each worker process delivers 5 messages, then blocks inside the 6th SMTP call.
        workers.append(
            _start_worker(queue, {**env, "JOURNEYS_TEST_MAIL_HANG_AFTER": "5"}, tmp_path / "w1.log")
        )
        services.journey_go_live(journey=journey)
        wait_until(lambda: len(list(box.glob("hang-*"))) == 2, timeout=60)
        os.killpg(workers[0].pid, signal.SIGKILL)
        workers[0].wait()
        assert len(delivered(box)) == 10
        # Claimed by the dead senders: 2 batches of 20, 10 of them marked as accepted by SMTP.
        assert OutboundEmail.objects.filter(status="sending").count() == 40
        assert OutboundEmail.objects.filter(status="sending", sent_at__isnull=False).count() == 10
        assert Enrollment.objects.filter(journey=journey, state="active").count() == 20  # batch 3: never run

        # The tick runs again (leases and sweep shortened) on a healthy worker.
        env_after = {**env, "JOURNEYS_DISPATCH_LEASE_SECONDS": "0", "JOURNEYS_OUTBOX_SWEEP_SECONDS": "0"}
        workers.append(_start_worker(queue, env_after, tmp_path / "w2.log"))
        wait_until(ticking(lambda: len(delivered(box)) >= 60), timeout=60)
        for _ in range(3):  # overlapping ticks after the fact change nothing
            journeys_tick.delay()
        wait_for_worker_idle(queue)
        mails = delivered(box)
        assert len(mails) == 60
        assert len({m["outbox"] for m in mails}) == 60
        assert sorted(m["to"][0] for m in mails) == sorted(c.email for c in contacts)
        assert OutboundEmail.objects.filter(status="sent").count() == 60
        assert StepExecution.objects.filter(step__key="welcome").count() == 60
        assert journey.enrollments.filter(state="completed").count() == 60
    finally:
        app.conf.task_default_queue = previous_queue
        for process in workers:
            stop_process_group(process)
        with app.connection_for_write() as conn:
            conn.default_channel.queue_delete(queue)


# --- Live segments hear journey writes through change notices alone -----------------------------


@pytest.fixture
def notices_worker(transactional_db, mailbox, tmp_path):
    """A real worker on a queue of its own. No model-signal receiver exists (see
    crm_core/tests/test_events.py): whatever reaches a live segment came as a change notice."""
    from config.celery_app import app

    queue = f"test-{uuid.uuid4().hex[:10]}"
    previous_queue = app.conf.task_default_queue
    app.conf.task_default_queue = queue
    process = _start_worker(queue, {}, tmp_path / "notices-worker.log")
    try:
        yield process
    finally:
        app.conf.task_default_queue = previous_queue
        stop_process_group(process)
        with app.connection_for_write() as conn:
            conn.default_channel.queue_delete(queue)


def _live_segment(name: str, conditions: list) -> Segment:
    segment = segment_create(
        name=name, definition={"entity": "contact", "match": "all", "conditions": conditions}
    )
    segment_go_live(segment=segment)
    return segment


def _members(segment: Segment) -> set[int]:
    return set(SegmentMembership.objects.filter(segment=segment).values_list("contact_id", flat=True))


SEGMENT_UPDATE_SECONDS = 10


@pytest.mark.worker
def test_live_segments_follow_journey_field_updates_and_sent_emails_through_change_notices(
    notices_worker,
):
    ann, bob = ContactFactory(job_title="Engineer"), ContactFactory(job_title="Engineer")
    entry = Segment.objects.create(name="entry", kind="static")
    for contact in (ann, bob):
        SegmentMemberFactory(segment_id=entry.pk, contact=contact)
    mailed = _live_segment(
        "got a journey email",
        [
            {
                "related": "interactions",
                "quantifier": "exists",
                "match": "all",
                "conditions": [{"field": "kind", "op": "eq", "value": "email_sent"}],
            }
        ],
    )
    cold = _live_segment("gone cold", [{"field": "job_title", "op": "eq", "value": "cold"}])
    assert set(mailed.entities) == {"contact", "interaction"} and cold.entities == ["contact"]
    wait_until(
        lambda: Segment.objects.filter(kind="dynamic", refreshed_at__isnull=False).count() == 2, timeout=20
    )
    # An earlier test in this process may have scheduled a run on a queue no worker reads.
    cache.delete(SCHEDULED_KEY)

    # The sends only add interactions: nothing but their notice can refresh `mailed`.
    services.journey_go_live(
        journey=make_journey(name="mail", entry_segment_id=entry.pk, steps=[send_email_step()])
    )
    wait_until(ticking(lambda: Interaction.objects.filter(kind="email_sent").count() == 2), timeout=30)
    wait_until(lambda: _members(mailed) == {ann.pk, bob.pk}, timeout=SEGMENT_UPDATE_SECONDS)
    assert _members(cold) == set()

    sunset = {"key": "sunset", "kind": "update_field", "config": {"field": "job_title", "value": "cold"}}
    services.journey_go_live(journey=make_journey(name="sunset", entry_segment_id=entry.pk, steps=[sunset]))
    wait_until(ticking(lambda: Contact.objects.filter(job_title="cold").count() == 2), timeout=30)
    wait_until(lambda: _members(cold) == {ann.pk, bob.pk}, timeout=SEGMENT_UPDATE_SECONDS)
