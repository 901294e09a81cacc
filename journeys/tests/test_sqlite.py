"""The journey engine on the embedded SQLite default (DATABASE_URL unset in a real deployment): a
separate process with its own SQLite file, migrated, running the tick through the Celery tasks
(eagerly, as one worker would) on the portable ORM path."""

import json
import subprocess
import sys

from conftest import ROOT, migrated_sqlite, sqlite_default_env

SCRIPT = r"""
import json
from datetime import timedelta

import django

django.setup()
from django.core import mail
from django.test.utils import setup_test_environment
from django.utils import timezone

setup_test_environment()  # the locmem backend collects mail.outbox

from crm_core.models import ConsentChange, Contact, Interaction, ListMembership
from crm_core.tests.factories import ContactFactory, ListMembershipFactory, SubscriptionListFactory
from journeys import services
from journeys.models import Enrollment, OutboundEmail, StepExecution
from journeys.tests.factories import SegmentMemberFactory, make_journey, send_email_step

# P0's consent stops at marketing: no tracking. The others allow tracking.
people = [ContactFactory(first_name=f"P{i}", consent_level=4 if i else 3) for i in range(5)]
blocked = ContactFactory(do_not_bulk_email=True)
newsletter = SubscriptionListFactory()
for contact in people[:3]:
    ListMembershipFactory(contact=contact, subscription_list=newsletter)
for contact in [*people, blocked]:
    SegmentMemberFactory(segment_id=1, contact=contact)
journey = make_journey(
    steps=[
        send_email_step(),
        {"key": "pause", "kind": "wait_duration", "config": {"seconds": 60}},
        {"key": "opened", "kind": "if_interaction", "config": {"kind": "email_open", "email_step": "welcome"},
         "next": "done", "else": "cold"},
        {"key": "cold", "kind": "update_field", "config": {"field": "job_title", "value": "cold"}},
        {"key": "leave", "kind": "list_remove", "config": {"list": newsletter.pk}},
        {"key": "sunset", "kind": "update_field", "config": {"field": "do_not_bulk_email", "value": True}},
        {"key": "done", "kind": "end"},
    ]
)
services.journey_go_live(journey=journey)  # enqueues the first tick (eager here)
first = {"sent": len(mail.outbox), "waiting": Enrollment.objects.filter(state="waiting").count()}
services.journeys_tick()  # nothing due: changes nothing, sends nothing
again = len(mail.outbox)
services.journeys_tick(now=timezone.now() + timedelta(seconds=61), inline=True)  # time moves on
html_to = {m.to[0]: m.alternatives[0][0] for m in mail.outbox}
html, untracked = html_to[people[1].email], html_to[people[0].email]
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
    "untracked": "/t/" not in untracked and 'href="https://example.com/offer?a=1&amp;b=2"' in untracked,
    "memberships": sorted(ListMembership.objects.values_list("status", flat=True)),
    "list_changes": ConsentChange.objects.filter(field="list", source="journey").count(),
    "bulk_email_changes": ConsentChange.objects.filter(field="do_not_bulk_email", source="journey").count(),
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
    migrated_sqlite(env)
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
    assert result["tracked"] is True and result["untracked"] is True
    # Everyone left the list: the 3 members are marked unsubscribed, the others get such a row.
    assert result["memberships"] == ["unsubscribed"] * 6 and result["list_changes"] == 6
    assert result["bulk_email_changes"] == 5  # the contact who had opted out already changes nothing
    # welcome, pause, opened, cold, leave, sunset, done
    assert result["executions"] == result["unique"] == 6 * 7
