"""The embedded default (SQLite, no Redis) must keep working: migrate and create records there."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

SCRIPT = """
from crm_core.models import Contact, Lead
contact = Contact.objects.create(email="Smoke@Example.com", last_name="Smoke")
lead = Lead.objects.create(topic="Contoso Ltd Conference", email="smoke@example.com", parent_contact=contact)
assert Contact.objects.get().email == "smoke@example.com"
assert Lead.objects.get().parent_contact_id == contact.pk
print("smoke ok")
"""


def test_sqlite_default_migrates_and_stores_a_contact_and_a_lead(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL")}
    env.update(DATABASE_URL=f"sqlite:///{tmp_path / 'smoke.sqlite3'}", DEBUG="true")

    def manage(*args):
        return subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )

    migrate = manage("migrate", "--noinput")
    assert migrate.returncode == 0, migrate.stderr
    shell = manage("shell", "-c", SCRIPT)
    assert shell.returncode == 0, shell.stderr
    assert "smoke ok" in shell.stdout
    check = manage("check", "--deploy", "--fail-level", "ERROR")
    assert check.returncode == 0, check.stderr
