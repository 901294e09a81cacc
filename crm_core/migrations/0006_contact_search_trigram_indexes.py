"""Trigram indexes for the contact list's search (part of a name or an email, any case).

`icontains` compiles to `UPPER(col::text) LIKE UPPER('%term%')`; a GIN index over
`UPPER(col) gin_trgm_ops` answers it without reading every contact. PostgreSQL only
(pg_trgm); the embedded SQLite default searches by scanning, which is fine at its size.
"""

from django.db import migrations

COLUMNS = ("email", "first_name", "last_name")


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for column in COLUMNS:
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS contact_{column}_trgm_idx "
            f"ON crm_core_contact USING gin (UPPER({column}) gin_trgm_ops)"
        )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for column in COLUMNS:
        schema_editor.execute(f"DROP INDEX IF EXISTS contact_{column}_trgm_idx")


class Migration(migrations.Migration):
    dependencies = [("crm_core", "0005_lead_topic_upper_index")]

    operations = [migrations.RunPython(create, drop)]
