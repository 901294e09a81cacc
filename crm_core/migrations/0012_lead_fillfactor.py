"""Lead pages keep 40% free (fillfactor 60) so that updates which change no indexed column are HOT.

The score copy (crm_core.services.scores: score, grade, sales_ready, usually without a crossing)
is the big one: with room on the page and no index on score, the new row version stays on its page
and no index gets an entry. Measured on 195,000 leads: rescoring half of them 12.5 s -> 1.2 s, 20,000
of them 2.1 s -> 0.4 s (docs/architecture.md, "Indexes on contact and lead").

PostgreSQL only (SQLite has no fillfactor). Setting it rewrites nothing: new pages are filled to
60%, and the pages already there get their room as rows move or after a `VACUUM FULL crm_core_lead`
(or pg_repack) in a maintenance window.
"""

from django.db import migrations

FILLFACTOR = 60


def set_fillfactor(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f"ALTER TABLE crm_core_lead SET (fillfactor = {FILLFACTOR})")


def reset_fillfactor(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("ALTER TABLE crm_core_lead RESET (fillfactor)")


class Migration(migrations.Migration):
    dependencies = [("crm_core", "0011_contact_lead_index_diet")]

    operations = [migrations.RunPython(set_fillfactor, reset_fillfactor, elidable=False)]
