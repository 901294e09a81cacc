"""100,000 contacts enter a live segment journey whose first step sends an email; 2 worker processes.

Seeds (once) a data set of --contacts contacts in its own database, puts --members of them in a
segment, starts one Celery worker with --concurrency worker processes (prefork) on a queue of its
own with an email backend that only counts (bench/_mail_backends.py, counting in Redis), makes
the journey live and ticks like beat until every first step has run and no email is left unsent.
Prints the time until all first emails are sent and enrollments per second.

Mutates only its own scratch database (journeys tables are emptied at the start of each run).
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

from bench.common import ensure_dataset, report, server_settings, timer

ROOT = Path(__file__).resolve().parent.parent


WELCOME_STEPS = [
    {
        "key": "welcome",
        "kind": "send_email",
        "config": {
            "subject": 'Welcome, {{ contact.first_name|default:"friend" }}',
            "html": "<html><body><p>Hello {{ contact.first_name }} from {{ account.name }},</p>"
            '<p><a href="https://example.com/offer">See the offer</a> · '
            '<a href="https://example.com/blog">Read the blog</a></p></body></html>',
        },
    },
    {"key": "pause", "kind": "wait_duration", "config": {"days": 3}},
]


def main(argv: list[str]) -> int:
    args = _arguments(argv)
    redis_url = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"
    os.environ["REDIS_URL"] = redis_url
    os.environ.setdefault("CELERY_BROKER_URL", redis_url)
    url = ensure_dataset(args.contacts)

    import redis

    from config.celery_app import app

    queue = f"bench-journeys-{uuid.uuid4().hex[:8]}"
    counter_key = f"journeys:bench:{uuid.uuid4().hex[:8]}"
    app.conf.task_default_queue = queue
    counter = redis.Redis.from_url(redis_url)

    print("resetting the journeys tables of the scratch database and filling the segment ...")
    journey = _fresh_journey(members=args.members)
    env = dict(
        os.environ,
        DATABASE_URL=url,
        CELERY_TASK_DEFAULT_QUEUE=queue,
        EMAIL_BACKEND="bench._mail_backends.CountingBackend",
        JOURNEYS_COUNTER_URL=redis_url,
        JOURNEYS_COUNTER_KEY=counter_key,
        JOURNEYS_BATCH_SIZE=str(args.batch_size),
        LOG_LEVEL="WARNING",
    )
    worker, log = _start_worker(env, queue=queue, concurrency=args.concurrency)
    busy = _start_busy(args.busy_cores)
    try:
        time.sleep(1)
        _wait_ready(worker, queue)
        print(
            f"worker ready ({args.concurrency} processes); going live with {args.members:,} segment members"
        )
        seconds = _go_live_and_wait(journey, members=args.members, timeout=args.timeout)
        if seconds is None:
            return 1
        return _report(args, seconds=seconds, counted=int(counter.get(counter_key) or 0))
    finally:
        for process in busy:
            process.kill()
        _stop_worker(worker)
        log.close()
        counter.delete(counter_key)
        with app.connection_for_write() as conn:
            conn.default_channel.queue_delete(queue)


def _arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench journeys", description=__doc__)
    parser.add_argument("--contacts", type=int, default=100_008, help="data set size (its own database)")
    parser.add_argument("--members", type=int, default=100_000, help="contacts in the entry segment")
    parser.add_argument("--concurrency", type=int, default=2, help="worker processes")
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--timeout", type=float, default=600)
    parser.add_argument(
        "--busy-cores", type=int, default=0, help="processes that keep a core busy while the run goes (load)"
    )
    return parser.parse_args(argv)


def _start_busy(cores: int) -> list[subprocess.Popen]:
    """`cores` processes that spin until stopped: another workload on the same machine."""
    return [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(cores)]


def _fresh_journey(*, members: int):
    """Empty the journeys tables, put the first `members` contacts in segment 1 and create the
    (draft) journey that welcomes them."""
    from django.db import connection

    from journeys import services
    from segments.models import Segment, SegmentKind, SegmentStatus

    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE journeys_outboundemail, journeys_stepexecution, journeys_enrollment,"
            " journeys_trackedlink, sales_task, journeys_step, journeys_journey,"
            " segments_segmentmembershipevent, segments_segmentmembership, segments_segment CASCADE"
        )
        cursor.execute("DELETE FROM crm_core_interaction WHERE kind = 'email_sent' AND properties ? 'outbox'")
        # The rows the last run wrote (and the leads a rescoring rewrote) are gone for good: vacuumed
        # here, so that each run starts from the same tables even with autovacuum off or behind.
        cursor.execute("VACUUM (ANALYZE) crm_core_interaction, crm_core_lead")
        Segment.objects.create(pk=1, name="bench entry", kind=SegmentKind.STATIC, status=SegmentStatus.LIVE)
        cursor.execute(
            "INSERT INTO segments_segmentmembership (segment_id, contact_id, added_at) "
            "SELECT 1, id, now() FROM crm_core_contact ORDER BY id LIMIT %s",
            [members],
        )
    return services.journey_create(
        data={
            "name": "bench: welcome",
            "entry_type": "segment",
            "entry_segment_id": 1,
            "min_consent_level": 0,
        },
        steps=WELCOME_STEPS,
    )


def _start_worker(env: dict, *, queue: str, concurrency: int):
    """One Celery worker (prefork, `concurrency` processes) on `queue`, in a session of its own;
    returns the process and its open log file."""
    command = [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool=prefork",
               f"--concurrency={concurrency}", "-Q", queue, "--without-gossip", "--without-mingle",
               "--loglevel=WARNING"]  # fmt: skip
    log_path = Path(f"/tmp/bench-journeys-{queue}.log")
    log = open(log_path, "w")  # noqa: SIM115 (the worker writes to it while we wait)
    worker = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    return worker, log


def _go_live_and_wait(journey, *, members: int, timeout: float) -> float | None:
    """Make the journey live and tick like beat (every 5 s) until every first step has run and no
    email is left unsent; the seconds that took, or None (after saying so) on timeout."""
    from journeys import services
    from journeys.tasks import journeys_tick

    with timer() as elapsed:
        services.journey_go_live(journey=journey)  # enqueues the first tick
        last_tick = time.perf_counter()
        while _still_running(journey) or _counts(journey)[0] < members:
            if elapsed() > timeout:
                done, unsent = _counts(journey)
                print(f"timed out: {done:,} first steps ran, {unsent:,} emails unsent")
                return None
            if time.perf_counter() - last_tick > 5:  # beat, every 5 s
                journeys_tick.delay()
                last_tick = time.perf_counter()
            time.sleep(0.5)
    return elapsed()


def _still_running(journey) -> bool:
    """Some enrollment is still due at the first step, or some email is unsent: two LIMIT 1 probes
    (counting every execution and outbox row twice a second would load the database under test)."""
    from journeys.models import OPEN_STATES, Enrollment, OutboundEmail

    return (
        Enrollment.objects.filter(
            journey=journey, current_step__key="welcome", state__in=OPEN_STATES
        ).exists()
        or OutboundEmail.objects.filter(status__in=["pending", "sending"]).exists()
    )


def _counts(journey) -> tuple[int, int]:
    """(first steps done, emails unsent): contacts that left before the first step (the journey's
    exit rule: sales-ready) count as done."""
    from journeys.models import Enrollment, OutboundEmail, StepExecution

    done = StepExecution.objects.filter(step__key="welcome").count()
    done += Enrollment.objects.filter(journey=journey, state="exited", executions=None).count()
    return done, OutboundEmail.objects.filter(status__in=["pending", "sending"]).count()


def _report(args: argparse.Namespace, *, seconds: float, counted: int) -> int:
    """Print the figures; 1 if the backend's count differs from the outbox."""
    from journeys.models import OutboundEmail, StepExecution

    sent = OutboundEmail.objects.filter(status="sent").count()
    skipped = StepExecution.objects.filter(step__key="welcome", outcome="skipped_consent").count()
    report(
        f"journeys: {args.members:,} contacts enter a live segment journey, first step sends an email "
        f"({args.concurrency} worker processes, batches of {args.batch_size}, "
        f"{args.busy_cores} other busy processes)",
        [
            ("time until all first emails sent", f"{seconds:.1f}s (goal < 60 s)"),
            ("enrollments/s", f"{args.members / seconds:,.0f}"),
            ("emails sent (outbox)", f"{sent:,}"),
            ("emails counted by the backend", f"{counted:,}"),
            ("skipped by consent (recorded)", f"{skipped:,}"),
            ("emails/s", f"{sent / seconds:,.0f}"),
            *server_settings(),
        ],
    )
    if counted != sent:
        print("MISMATCH: backend count differs from the outbox")
        return 1
    return 0


def _stop_worker(worker) -> None:
    os.killpg(worker.pid, signal.SIGTERM)
    try:
        worker.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(worker.pid, signal.SIGKILL)


def _wait_ready(worker, queue: str) -> None:
    from config.celery_app import app

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if worker.poll() is not None:
            raise RuntimeError("the worker exited")
        replies = app.control.ping(timeout=1.0)
        if replies:
            return
    raise RuntimeError("the worker did not start")
