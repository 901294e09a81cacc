# Drops the three single-column foreign-key indexes that a composite index already starts with, so
# every score row written stops paying for them: leadscore(lead_id) (lead_score_unique starts with
# lead_id), leadscore(model_id) (lead_score_model_score starts with model_id) and
# salesreadycrossing(lead_id) (crossing_lead_model_at starts with lead_id). Only the indexes go: the
# state gets db_index=False, the database a DROP INDEX (AlterField would drop and re-validate the
# foreign keys, a scan of every score row under a lock on crm_core_lead).

import django.db.models.deletion
from django.db import migrations, models

# (table, column, the index Django made for the foreign key)
INDEXES = [
    ("leadscoring_leadscore", "lead_id", "leadscoring_leadscore_lead_id_43781dc9"),
    ("leadscoring_leadscore", "model_id", "leadscoring_leadscore_model_id_8c1a1b56"),
    ("leadscoring_salesreadycrossing", "lead_id", "leadscoring_salesreadycrossing_lead_id_3d799760"),
]


class Migration(migrations.Migration):
    dependencies = [
        ("leadscoring", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunSQL(
                    f'DROP INDEX IF EXISTS "{index}"',
                    reverse_sql=f'CREATE INDEX IF NOT EXISTS "{index}" ON "{table}" ("{column}")',
                )
                for table, column, index in INDEXES
            ],
            state_operations=[
                migrations.AlterField(
                    model_name="leadscore",
                    name="lead",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="scores",
                        to="crm_core.lead",
                    ),
                ),
                migrations.AlterField(
                    model_name="leadscore",
                    name="model",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="lead_scores",
                        to="leadscoring.scoringmodel",
                    ),
                ),
                migrations.AlterField(
                    model_name="salesreadycrossing",
                    name="lead",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="sales_ready_crossings",
                        to="crm_core.lead",
                    ),
                ),
            ],
        ),
    ]
