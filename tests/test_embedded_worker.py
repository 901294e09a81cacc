"""The embedded default with a real worker and beat: SQLite, Celery's filesystem transport, no Redis.

What `make run` starts, minus the web server: a live segment journey sends its first email and a
form submission recorded through the ORM rescoring its contact's lead, both done by the worker
processes alone (nothing runs eagerly, nothing is called by hand after the setup script).
"""

import sqlite3
import subprocess
import sys
import time
import uuid

import pytest

from conftest import ROOT, SQLITE_FILE, manage, migrated_sqlite, sqlite_default_env, stop_process_group
from journeys.tests.mailbackend import delivered

SETUP = r"""
from django.db import transaction
from django.utils import timezone

from crm_core.models import Interaction, InteractionKind
from crm_core.tests.factories import ContactFactory, LeadFactory
from journeys.services import journey_go_live
from journeys.tests.factories import SegmentMemberFactory, make_journey, send_email_step
from leadscoring.services import scoring_model_save

people = [ContactFactory(first_name=f"Person {n}") for n in range(3)]
for person in people:
    SegmentMemberFactory(segment_id=1, contact=person)
hot = LeadFactory(parent_contact=people[0], topic="Contoso Ltd Conference")
with transaction.atomic():
    scoring_model_save(
        model=None,
        data={"name": "Engagement", "status": "live", "is_primary": True, "sales_ready_threshold": 100},
        rules=[{"name": "Form", "interaction_kind": InteractionKind.FORM_SUBMIT, "points": 30}],
        grade_bands=[{"grade": "B", "min_score": 0, "max_score": None}],
    )
with transaction.atomic():
    journey_go_live(journey=make_journey(steps=[send_email_step()]))
with transaction.atomic():
    Interaction.objects.create(
        contact=people[0], kind=InteractionKind.FORM_SUBMIT, occurred_at=timezone.now(),
        properties={"form": "Contact us"},
    )
print("LEAD", hot.pk)
"""


def _env(tmp_path) -> dict:
    (tmp_path / "mail").mkdir()
    return sqlite_default_env(
        tmp_path,
        # Its own queue on the shared filesystem transport, so a developer's running worker takes none.
        CELERY_TASK_DEFAULT_QUEUE=f"embedded-test-{uuid.uuid4().hex[:8]}",
        EMAIL_BACKEND="journeys.tests.mailbackend.RecordingBackend",
        JOURNEYS_TEST_MAILBOX=str(tmp_path / "mail"),
        JOURNEYS_TICK_SECONDS="2",
    )


def _start(args, env, log_path):
    log = open(log_path, "w")  # noqa: SIM115 - closed with the process below
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", *args],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    process.log = log
    return process


def _stop(process) -> None:
    stop_process_group(process)
    process.log.close()


@pytest.mark.worker
def test_a_real_worker_on_the_embedded_default_sends_journey_email_and_rescores_leads(tmp_path):
    env = _env(tmp_path)
    migrated_sqlite(env)

    queue = env["CELERY_TASK_DEFAULT_QUEUE"]
    worker = _start(
        ["worker", "--pool=prefork", "--concurrency=2", "-Q", queue, "--without-gossip", "--without-mingle"],
        env,
        tmp_path / "worker.log",
    )
    beat = _start(["beat", "--schedule", str(tmp_path / "beat-schedule")], env, tmp_path / "beat.log")
    try:
        setup = manage(env, "shell", "-c", SETUP, timeout=120)
        assert setup.returncode == 0, setup.stderr
        lead_id = int(setup.stdout.split("LEAD")[-1])

        def state():
            with sqlite3.connect(tmp_path / SQLITE_FILE, timeout=10) as db:
                score = db.execute("SELECT score FROM crm_core_lead WHERE id = ?", [lead_id]).fetchone()[0]
                sent = db.execute(
                    "SELECT count(*) FROM journeys_outboundemail WHERE status = 'sent'"
                ).fetchone()
            return score, sent[0], delivered(tmp_path / "mail")

        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            score, sent, mails = state()
            if score == 30 and sent == 3 and len(mails) == 3:
                break
            time.sleep(0.5)
        logs = (tmp_path / "worker.log").read_text()[-4000:]
        assert (score, sent, len(mails)) == (30, 3, 3), logs
        recipients = [address for message in mails for address in message["to"]]
        assert len(recipients) == len(set(recipients)) == 3  # one email each, none twice
    finally:
        _stop(beat)
        _stop(worker)
