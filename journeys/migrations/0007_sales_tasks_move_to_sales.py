"""Journey tasks now live in the sales app's Task table (sales.services.tasks_create writes them)."""

from django.db import migrations

FORWARD = """
INSERT INTO sales_task (title, description, due_at, owner_id, source, journey_id, created_at,
                        contact_id, account_id, done_at, overdue_notified_at)
SELECT t.title, t.description, t.due_at, t.owner_id, 'journey', t.journey_id, t.created_at,
       t.contact_id, c.parent_account_id,
       CASE WHEN t.status = 'done' THEN t.created_at END,
       CASE WHEN t.status = 'open' AND t.due_at < CURRENT_TIMESTAMP THEN t.created_at END
FROM journeys_salestask t JOIN crm_core_contact c ON c.id = t.contact_id
ORDER BY t.id
"""

BACKWARD = """
INSERT INTO journeys_salestask (title, description, contact_id, owner_id, journey_id, status, due_at, created_at)
SELECT t.title, t.description, t.contact_id, t.owner_id, j.id,
       CASE WHEN t.done_at IS NULL THEN 'open' ELSE 'done' END, t.due_at, t.created_at
FROM sales_task t LEFT JOIN journeys_journey j ON j.id = t.journey_id
WHERE t.source = 'journey' AND t.contact_id IS NOT NULL
ORDER BY t.id
"""


def forward(apps, schema_editor):
    schema_editor.execute(FORWARD)


def backward(apps, schema_editor):
    schema_editor.execute(BACKWARD)


class Migration(migrations.Migration):
    dependencies = [
        ("journeys", "0006_tracked_link_urls_unescaped"),
        ("sales", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(forward, backward),
        migrations.DeleteModel(name="SalesTask"),
    ]
