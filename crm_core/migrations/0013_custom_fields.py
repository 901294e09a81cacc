"""Custom fields: their definitions, a `custom` JSON column on contact, account and lead, and on
PostgreSQL one GIN index (jsonb_path_ops) per column.

Why these indexes: equality on a choice, boolean or number custom field and "has this choice" on a
multiple-choice field compile to jsonb containment (`custom @> '{"tier": "gold"}'`) in the segment
compiler and the API's `?custom.<key>=` filter, and jsonb_path_ops serves exactly `@>` (smaller and
faster than the default jsonb_ops, which also serves key-existence operators nothing uses). Text,
range and date conditions read `custom ->> 'key'` and use no index (keys are defined at run time, so
there is no expression index to build ahead). A row whose `custom` is `{}` adds no key entry; the
score copy never changes `custom`, so it stays a HOT update. SQLite has no GIN: nothing there.
"""

from django.db import migrations, models

import crm_core.models.custom

GIN_INDEXES = (
    ("crm_core_contact", "contact_custom_gin_idx"),
    ("crm_core_account", "account_custom_gin_idx"),
    ("crm_core_lead", "lead_custom_gin_idx"),
)


def _custom_column():
    # The database default serves writers that name their columns (the demo's COPY).
    return models.JSONField(blank=True, db_default={}, default=dict)


def create_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table, name in GIN_INDEXES:
        schema_editor.execute(f"CREATE INDEX {name} ON {table} USING gin (custom jsonb_path_ops)")


def drop_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for _table, name in GIN_INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("crm_core", "0012_lead_fillfactor")]

    operations = [
        migrations.CreateModel(
            name="CustomField",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "entity",
                    models.CharField(
                        choices=[("contact", "Contact"), ("account", "Account"), ("lead", "Lead")],
                        max_length=16,
                    ),
                ),
                (
                    "key",
                    models.CharField(
                        help_text="Never changes.",
                        max_length=25,
                        validators=[crm_core.models.custom.custom_key_validator],
                    ),
                ),
                ("label", models.CharField(max_length=100)),
                (
                    "field_type",
                    models.CharField(
                        choices=[
                            ("text", "Text"),
                            ("number", "Number"),
                            ("date", "Date"),
                            ("choice", "Choice"),
                            ("multi_choice", "Multiple choice"),
                            ("boolean", "Yes / no"),
                        ],
                        max_length=16,
                    ),
                ),
                (
                    "required",
                    models.BooleanField(
                        default=False, help_text="A value is needed when a record is created."
                    ),
                ),
                ("choices", models.JSONField(blank=True, default=list)),
                ("ordering", models.PositiveSmallIntegerField(default=0)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("updated_at", models.DateTimeField(auto_now=True)),
            ],
            options={
                "ordering": ["entity", "ordering", "id"],
                "constraints": [
                    models.UniqueConstraint(fields=("entity", "key"), name="custom_field_entity_key_unique")
                ],
            },
        ),
        migrations.AddField(model_name="account", name="custom", field=_custom_column()),
        migrations.AddField(model_name="contact", name="custom", field=_custom_column()),
        migrations.AddField(model_name="lead", name="custom", field=_custom_column()),
        migrations.RunPython(create_indexes, drop_indexes, elidable=False),
    ]
