from django.db import migrations


class Migration(migrations.Migration):
    """Room on each outbox page so the per-message "accepted by SMTP" mark (sent_at) is a HOT update."""

    dependencies = [("journeys", "0001_initial")]

    operations = [
        migrations.RunSQL(
            "ALTER TABLE journeys_outboundemail SET (fillfactor = 70)",
            "ALTER TABLE journeys_outboundemail RESET (fillfactor)",
            elidable=False,
        ),
    ]
