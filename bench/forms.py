"""Landing-page form submissions through gunicorn: throughput, latency, and that none is lost or duplicated.

The app is served by gunicorn on 127.0.0.1 (DEBUG off) against a scratch
PostgreSQL database made for this run (optionally seeded with --contacts demo
contacts). Client threads post valid submissions for --seconds; some emails are
new, some repeat in another case, some are shared by all clients so they race
for one contact. Afterwards every accepted submission must have produced exactly
one stored, processed submission, one contact per distinct email, one lead per
contact (lead strategy: same topic) and one form_submit interaction each.
Failed processing is left to the retry task, which is run for real before checking.
"""

from __future__ import annotations

import argparse
import http.client
import os
import random
import re
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from pathlib import Path
from urllib.parse import urlencode

import psycopg
from django.db.models import Count

from bench.common import create_database, database_url, percentile, report, setup_django, timer

ROOT = Path(__file__).resolve().parent.parent
SLUG = "bench-form"
TOPIC = "Bench webinar"
SHARED_EMAILS = 10
REQUEST_TIMEOUT = 15


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _prepare_database(url: str, contacts: int) -> None:
    create_database(url, drop=True)
    setup_django(url)
    from django.core.management import call_command

    from landing.models import PageStatus
    from landing.services import landing_page_create

    call_command("migrate", verbosity=0)
    if contacts:
        call_command("seed_demo", contacts=contacts, seed=7, verbosity=0)
    landing_page_create(
        data={"slug": SLUG, "title": "Bench webinar", "status": PageStatus.LIVE, "lead_topic": TOPIC},
        fields=[
            {"name": "email", "label": "Email", "field_type": "email", "required": True,
             "contact_field": "email"},
            {"name": "first_name", "label": "First name", "contact_field": "first_name",
             "lead_field": "first_name"},
            {"name": "last_name", "label": "Last name", "required": True, "contact_field": "last_name",
             "lead_field": "last_name"},
            {"name": "company", "label": "Company", "lead_field": "company_name"},
        ],
    )  # fmt: skip


def _start_gunicorn(url: str, port: int, workers: int, log_path: Path) -> subprocess.Popen:
    env = dict(
        os.environ,
        DATABASE_URL=url,
        DEBUG="false",
        SECRET_KEY=os.environ.get("SECRET_KEY", "benchmark-only-secret-key"),
        ALLOWED_HOSTS="127.0.0.1",
        # The bench posts far faster than a person: raise the per-IP limit here, not in the default.
        LANDING_RATE_LIMIT=os.environ.get("BENCH_LANDING_RATE_LIMIT", "1000000/minute"),
        LOG_LEVEL="WARNING",
    )
    with open(log_path, "w") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "config.wsgi:application", "--bind", f"127.0.0.1:{port}",
             "--workers", str(workers), "--timeout", "60", "--log-level", "warning"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip


def _wait_ready(port: int, process: subprocess.Popen, log_path: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited:\n{log_path.read_text()}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", f"/l/{SLUG}/")
            if conn.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"gunicorn did not answer within 60s:\n{log_path.read_text()}")


class Client(threading.Thread):
    def __init__(self, number: int, port: int, deadline: float, max_requests: int, seed: int):
        super().__init__(daemon=True)
        self.number, self.port, self.deadline, self.max_requests = number, port, deadline, max_requests
        self.random = random.Random(seed)
        self.results: list[tuple[str, str, int, float]] = []  # ref, normalised email, status, seconds
        self.error: BaseException | None = None

    def _email(self, sent: list[str]) -> str:
        roll = self.random.random()
        if roll < 0.15:
            return f"Shared-{self.random.randrange(SHARED_EMAILS)}@Example.com"
        if roll < 0.35 and sent:
            return self.random.choice(sent).upper()
        email = f"bench-{self.number}-{len(sent)}-{uuid.uuid4().hex[:6]}@example.com"
        sent.append(email)
        return email

    def run(self) -> None:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=REQUEST_TIMEOUT)
            conn.request("GET", f"/l/{SLUG}/")
            page = conn.getresponse().read().decode()
            token = re.search(r'name="_token" value="([^"]+)"', page).group(1)
            sent: list[str] = []
            while time.monotonic() < self.deadline and len(self.results) < self.max_requests:
                ref = uuid.uuid4().hex
                email = self._email(sent)
                body = urlencode({"_token": token, "ref": ref, "email": email, "first_name": "Bench",
                                  "last_name": f"Client{self.number}", "company": "Bench Ltd"})  # fmt: skip
                started = time.perf_counter()
                conn.request("POST", f"/l/{SLUG}/", body=body,
                             headers={"Content-Type": "application/x-www-form-urlencoded"})  # fmt: skip
                response = conn.getresponse()
                response.read()
                self.results.append(
                    (ref, email.strip().lower(), response.status, time.perf_counter() - started)
                )
        except BaseException as exc:  # reported by main
            self.error = exc


def _drop_database(url: str) -> None:
    from django.db import connections

    connections.close_all()
    admin = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')


def _check(results: list[tuple[str, str, int, float]], contacts_before: int) -> tuple[list, dict]:
    from django.db import connection

    from crm_core.models import Contact, Interaction, Lead
    from landing.models import FormSubmission, SubmissionStatus
    from landing.tasks import submission_process_task

    accepted = [r for r in results if r[2] == 200]
    # Processing failures are the retry task's job: run it for real on whatever it would pick up.
    unfinished = list(
        FormSubmission.objects.filter(status__in=[SubmissionStatus.PENDING, SubmissionStatus.FAILED])
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    for submission_id in unfinished:
        submission_process_task.apply(args=[submission_id])

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT payload->>'ref', count(*), bool_and(status = 'processed'), "
            "bool_and(c.email = lower(trim(payload->>'email'))) "
            "FROM landing_formsubmission s LEFT JOIN crm_core_contact c ON c.id = s.contact_id "
            "GROUP BY 1"
        )
        stored = {ref: (count, processed, right_contact) for ref, count, processed, right_contact in cursor}
    lost = [r for r in accepted if r[0] not in stored or not stored[r[0]][1]]
    duplicated = [r for r in accepted if r[0] in stored and stored[r[0]][0] > 1]
    wrong_contact = [r for r in accepted if r[0] in stored and not stored[r[0]][2]]
    emails = {r[1] for r in accepted}
    contacts = Contact.objects.filter(email__in=emails).count()
    new_contacts = Contact.objects.count() - contacts_before
    leads = Lead.objects.filter(topic=TOPIC).count()
    contacts_with_many_leads = (
        Lead.objects.filter(topic=TOPIC)
        .values("parent_contact")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .count()
    )
    interactions = Interaction.objects.filter(kind="form_submit").count()
    checks = {
        "accepted": len(accepted),
        "retried by the task": len(unfinished),
        "lost": len(lost),
        "duplicated": len(duplicated),
        "linked to the wrong contact": len(wrong_contact),
        "distinct emails / their contacts / new contacts": (len(emails), contacts, new_contacts),
        "leads (one per contact expected)": (leads, contacts_with_many_leads),
        "form_submit interactions": interactions,
    }
    ok = (
        not lost
        and not duplicated
        and not wrong_contact
        and contacts == new_contacts == len(emails)
        and leads == len(emails)
        and contacts_with_many_leads == 0
        and interactions == len(accepted)
    )
    return ok, checks


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench forms", description=__doc__)
    parser.add_argument("--seconds", type=float, default=30.0, help="how long the clients post (default 30)")
    parser.add_argument("--clients", type=int, default=2, help="concurrent clients (default 2)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes (default 2)")
    parser.add_argument("--contacts", type=int, default=0, help="demo contacts seeded first (default 0)")
    parser.add_argument("--max-requests", type=int, default=200_000, help="per client, a safety bound")
    parser.add_argument("--keep", action="store_true", help="keep the scratch database afterwards")
    args = parser.parse_args(argv)

    url = database_url("forms_scratch")
    print(
        f"scratch database {url}; seeding {args.contacts:,} contacts" if args.contacts else f"scratch {url}"
    )
    _prepare_database(url, args.contacts)
    from crm_core.models import Contact

    contacts_before = Contact.objects.count()
    port = _free_port()
    log_path = Path(os.environ.get("TMPDIR", "/tmp")) / f"bench-forms-gunicorn-{port}.log"
    server = _start_gunicorn(url, port, args.workers, log_path)
    try:
        _wait_ready(port, server, log_path)
        deadline = time.monotonic() + args.seconds
        clients = [Client(n, port, deadline, args.max_requests, seed=n) for n in range(args.clients)]
        with timer() as elapsed:
            for client in clients:
                client.start()
            for client in clients:
                client.join(timeout=args.seconds + 2 * REQUEST_TIMEOUT + 5)
        seconds = elapsed()
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
    errors = [c.error for c in clients if c.error is not None]
    results = [r for c in clients for r in c.results]
    ok, checks = _check(results, contacts_before)
    latencies = [r[3] for r in results]
    statuses = Counter(r[2] for r in results)
    rows = [
        ("clients / gunicorn workers", f"{args.clients} / {args.workers}"),
        ("duration", f"{seconds:.1f}s"),
        ("submissions", f"{len(results):,} (HTTP status: {dict(statuses)})"),
        ("submissions/s", f"{len(results) / seconds:,.1f}"),
        (
            "latency p50 / p99",
            f"{percentile(latencies, 50) * 1000:.1f} ms / {percentile(latencies, 99) * 1000:.1f} ms",
        ),
        *[(name, str(value)) for name, value in checks.items()],
        ("client errors", str(errors) if errors else "none"),
        ("result", "OK: none lost, none duplicated" if ok and not errors else "FAILED"),
    ]
    report(f"forms: {args.seconds:.0f}s of valid submissions through gunicorn", rows)
    if not args.keep:
        _drop_database(url)
    return 0 if ok and not errors and statuses.keys() <= {200} else 1
