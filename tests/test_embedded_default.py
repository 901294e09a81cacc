"""The embedded default (SQLite, no Redis) must keep working: migrate, create records, render pages."""

from conftest import manage, sqlite_default_env

SCRIPT = """
from crm_core.models import Contact, Lead
contact = Contact.objects.create(email="Smoke@Example.com", last_name="Smoke")
lead = Lead.objects.create(topic="Contoso Ltd Conference", email="smoke@example.com", parent_contact=contact)
assert Contact.objects.get().email == "smoke@example.com"
assert Lead.objects.get().parent_contact_id == contact.pk

# The web UI's record pages work on SQLite too (exact counts instead of the planner's estimate).
from django.contrib.auth.models import Group, User
from django.test import Client
marketer = User.objects.create_user("smoke-marketer")
marketer.groups.add(Group.objects.get(name="marketing"))
client = Client(SERVER_NAME="localhost")
client.force_login(marketer)
listing = client.get("/contacts/?q=smoke&has_leads=yes")
assert listing.status_code == 200 and b"About 1 contact." in listing.content, listing.content[:3000]
page = client.get(f"/contacts/{contact.pk}/")
assert page.status_code == 200 and b"Contoso Ltd Conference" in page.content

# The dashboard counts the records directly on SQLite (no per-day counts are kept there).
import json
dashboard = client.get("/dashboard/")
assert dashboard.status_code == 200, dashboard.content[:3000]
data = dashboard.content.decode().split('<script id="dashboard-data" type="application/json">')[1]
assert json.loads(data.split("</script>")[0])["funnel"]["values"] == [1, 1, 0, 0, 0, 0]
print("smoke ok")
"""


def test_sqlite_default_migrates_and_stores_a_contact_and_a_lead(tmp_path):
    env = sqlite_default_env(tmp_path)
    migrate = manage(env, "migrate", "--noinput")
    assert migrate.returncode == 0, migrate.stderr
    shell = manage(env, "shell", "-c", SCRIPT)
    assert shell.returncode == 0, shell.stderr
    assert "smoke ok" in shell.stdout
    check = manage(env, "check", "--deploy", "--fail-level", "ERROR")
    assert check.returncode == 0, check.stderr
