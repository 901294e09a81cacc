"""The journey engine on the embedded SQLite default (DATABASE_URL unset in a real deployment): a
separate process with its own SQLite file, migrated, running the tick through the Celery tasks
(eagerly, as one worker would) on the portable ORM path."""

import json
import subprocess
import sys

from conftest import ROOT, manage, sqlite_default_env

SCRIPT = r"""
import json
from datetime import timedelta

import django

django.setup()
from django.core import mail
from django.test.utils import setup_test_environment
from django.utils import timezone

setup_test_environment()  # the locmem backend collects mail.outbox

from crm_core.models import Contact, Interaction
from crm_core.tests.factories import ContactFactory
from journeys import services
from journeys.models import Enrollment, OutboundEmail, StepExecution
from journeys.tests.factories import SegmentMemberFactory, make_journey, send_email_step

people = [ContactFactory(first_name=f"P{i}") for i in range(5)]
blocked = ContactFactory(do_not_bulk_email=True)
for contact in [*people, blocked]:
    SegmentMemberFactory(segment_id=1, contact=contact)
journey = make_journey(
    steps=[
        send_email_step(),
        {"key": "pause", "kind": "wait_duration", "config": {"seconds": 60}},
        {"key": "opened", "kind": "if_interaction", "config": {"kind": "email_open", "email_step": "welcome"},
         "next": "done", "else": "cold"},
        {"key": "cold", "kind": "update_field", "config": {"field": "job_title", "value": "cold"}},
        {"key": "done", "kind": "end"},
    ]
)
services.journey_go_live(journey=journey)  # enqueues the first tick (eager here)
first = {"sent": len(mail.outbox), "waiting": Enrollment.objects.filter(state="waiting").count()}
services.journeys_tick()  # nothing due: changes nothing, sends nothing
again = len(mail.outbox)
services.journeys_tick(now=timezone.now() + timedelta(seconds=61), inline=True)  # time moves on
html = mail.outbox[0].alternatives[0][0]
print(json.dumps({
    "first": first,
    "again": again,
    "sent": len(mail.outbox),
    "outbox_sent": OutboundEmail.objects.filter(status="sent").count(),
    "interactions": Interaction.objects.filter(kind="email_sent").count(),
    "skipped": list(StepExecution.objects.filter(outcome="skipped_consent").values_list("detail", flat=True)),
    "completed": Enrollment.objects.filter(state="completed").count(),
    "cold": Contact.objects.filter(job_title="cold").count(),
    "tracked": "/t/o/" in html and "/t/c/" in html and "/preferences/" in html,
    "executions": StepExecution.objects.count(),
    "unique": StepExecution.objects.values("enrollment_id", "seq").distinct().count(),
}))
"""


def test_journeys_run_on_the_embedded_sqlite_default(tmp_path):
    env = sqlite_default_env(
        tmp_path,
        CELERY_TASK_ALWAYS_EAGER="true",
        EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend",
        DJANGO_SETTINGS_MODULE="config.settings",
    )
    migrate = manage(env, "migrate", "--verbosity=0")
    assert migrate.returncode == 0, migrate.stderr
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["first"] == {"sent": 5, "waiting": 6}
    assert result["again"] == 5
    assert result["sent"] == 5  # the branch sends nothing more
    assert result["outbox_sent"] == 5 and result["interactions"] == 5
    assert result["skipped"] == ["do_not_bulk_email"]
    assert result["completed"] == 6 and result["cold"] == 6
    assert result["tracked"] is True
    assert result["executions"] == result["unique"] == 6 * 5  # welcome, pause, opened, cold, done
