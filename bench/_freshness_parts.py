"""Parts of `bench freshness`: the stream of CRM changes through the services, the worker, CPU from /proc."""

from __future__ import annotations

import contextlib
import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
CLICK_KINDS = ["email_open", "email_click", "page_visit", "form_submit"]
# (weight, operation): the mix of the stream.
MIX = [
    (40, "interaction"),
    (15, "lead_topic"),
    (10, "lead_status"),
    (15, "contact_edit"),
    (8, "new_lead"),
    (8, "orphan_lead"),
    (4, "account_edit"),
]


# --- CPU -------------------------------------------------------------------------------------------------

_TICKS = os.sysconf("SC_CLK_TCK")


def _cpu_seconds(pid: int) -> float | None:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / _TICKS  # utime + stime


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    found.append(int(entry.name))
            except (OSError, IndexError):
                continue
    return found


class CpuSampler(threading.Thread):
    """Adds up the CPU the database's backends (of this database) and the worker's processes use,
    from /proc, sampled every `interval` seconds; also how many backends were active on average."""

    def __init__(self, url: str, worker_pid: int, interval: float = 0.5):
        super().__init__(daemon=True)
        self.url, self.worker_pid, self.interval = url, worker_pid, interval
        self.seen: dict[str, dict[int, float]] = {"database": {}, "worker": {}}
        self.total = {"database": 0.0, "worker": 0.0}
        self.active_samples: list[int] = []
        self.stop = threading.Event()

    def _account(self, side: str, pids: list[int]) -> None:
        for pid in pids:
            now = _cpu_seconds(pid)
            if now is not None:
                self.total[side] += now - self.seen[side].get(pid, now)
                self.seen[side][pid] = now

    def run(self) -> None:
        with psycopg.connect(self.url, autocommit=True) as conn:
            while not self.stop.wait(self.interval):
                rows = conn.execute(
                    "SELECT pid, state = 'active' FROM pg_stat_activity"
                    " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                ).fetchall()
                self._account("database", [pid for pid, _ in rows])
                self.active_samples.append(sum(1 for _, active in rows if active))
                self._account("worker", [self.worker_pid, *_children(self.worker_pid)])


# --- The worker ---------------------------------------------------------------------------------------------


def start_worker(env: dict, queue: str, concurrency: int, log_path: Path) -> subprocess.Popen:
    from config.celery_app import app

    command = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "config",
        "worker",
        "--pool=prefork",
        f"--concurrency={concurrency}",
        "-Q",
        queue,
        "-n",
        f"{queue}@%h",
        "--without-gossip",
        "--without-mingle",
        "--loglevel=WARNING",
    ]
    log = open(log_path, "w")  # noqa: SIM115 (the worker writes to it while we wait)
    worker = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if worker.poll() is not None:
            raise RuntimeError(f"the worker exited; see {log_path}")
        if app.control.ping(destination=[f"{queue}@{os.uname().nodename}"], timeout=1.0):
            return worker
    raise RuntimeError("the worker did not start")


def stop_worker(worker: subprocess.Popen) -> None:
    if worker.poll() is None:
        os.killpg(worker.pid, signal.SIGTERM)
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait()


# --- The stream of changes -------------------------------------------------------------------------------


class Stream:
    """Changes through crm_core's services, at a steady rate, from several writer threads."""

    def __init__(self, *, topics: list[str], countries: list[str], seed: int = 7):
        from crm_core.models import Account, Contact, Lead

        self.topics, self.countries, self.seed = topics, countries, seed
        self.ranges = {
            model: (
                model.objects.order_by("pk").values_list("pk", flat=True).first() or 0,
                model.objects.order_by("-pk").values_list("pk", flat=True).first() or 0,
            )
            for model in (Contact, Lead, Account)
        }
        self.done: dict[str, int] = {}
        self.errors: dict[str, int] = {}
        self.lock = threading.Lock()
        self.lag: list[float] = []

    def _any(self, model, rng):
        low, high = self.ranges[model]
        return model.objects.filter(pk__gte=rng.randint(low, high)).order_by("pk").first()

    def apply(self, operation: str, rng: random.Random, n: int) -> None:
        from django.utils import timezone

        from crm_core import services
        from crm_core.models import Account, Contact, Lead

        if operation == "interaction":
            contact = self._any(Contact, rng)
            properties = {"email": "Newsletter 3", "url": rng.choice(["/pricing", "/blog"])}
            row = {
                "contact_id": contact.pk,
                "kind": rng.choice(CLICK_KINDS),
                "occurred_at": timezone.now(),
                "properties": properties,
            }
            services.interactions_record(rows=[row])
        elif operation == "lead_topic":
            services.lead_update(lead=self._any(Lead, rng), topic=rng.choice(self.topics))
        elif operation == "lead_status":
            move = rng.choice(
                [
                    services.lead_mark_marketing_qualified,
                    services.lead_return_to_marketing,
                    services.lead_disqualify,
                ]
            )
            with contextlib.suppress(services.LeadTransitionError):  # not a move from its status
                move(lead=self._any(Lead, rng))
        elif operation == "contact_edit":
            field, value = rng.choice(
                [
                    ("job_role", rng.choice(["decision_maker", "influencer", "champion"])),
                    ("country", rng.choice(self.countries)),
                    ("city", rng.choice(["", "Oslo"])),
                    ("do_not_bulk_email", rng.random() < 0.2),
                ]
            )
            services.contact_update(contact=self._any(Contact, rng), **{field: value})
        elif operation == "account_edit":
            industry = rng.choice(["software", "finance", "retail", "healthcare"])
            services.account_update(account=self._any(Account, rng), industry=industry)
        else:  # a new lead, of a known contact or an orphan the orphan-lead workflow links
            contact = self._any(Contact, rng) if operation == "new_lead" else None
            services.lead_create(
                topic=rng.choice(self.topics),
                parent_contact=contact,
                email=f"stream-{self.seed}-{n}@example.com",
                last_name=f"Stream {n}",
            )

    def _writer(self, index: int, writers: int, rate: float, seconds: float, started: float) -> None:
        from django.db import connection

        rng = random.Random(self.seed * 1000 + index)
        operations = [op for weight, op in MIX for _ in range(weight)]
        n = index
        try:
            while True:
                due = started + n / rate
                if due - started >= seconds:
                    return
                delay = due - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                else:
                    self.lag.append(-delay)
                operation = rng.choice(operations)
                try:
                    self.apply(operation, rng, n)
                    key, counts = operation, self.done
                except Exception as exc:  # counted and shown; the stream goes on
                    key, counts = f"{operation}: {type(exc).__name__}", self.errors
                with self.lock:
                    counts[key] = counts.get(key, 0) + 1
                n += writers
        finally:
            connection.close()

    def run(self, *, rate: float, seconds: float, writers: int) -> float:
        started = time.monotonic()
        threads = [
            threading.Thread(target=self._writer, args=(i, writers, rate, seconds, started))
            for i in range(writers)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return time.monotonic() - started
