from django.db import migrations


def set_fillfactor(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE journeys_outboundemail SET (fillfactor = 70)")


def reset_fillfactor(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE journeys_outboundemail RESET (fillfactor)")


class Migration(migrations.Migration):
    """Room on each outbox page so the per-message "accepted by SMTP" mark (sent_at) is a HOT update."""

    dependencies = [("journeys", "0001_initial")]

    operations = [migrations.RunPython(set_fillfactor, reset_fillfactor, elidable=False)]
