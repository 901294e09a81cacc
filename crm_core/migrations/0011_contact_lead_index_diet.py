"""Indexes on contact and lead that earn their writes (docs/architecture.md, "Indexes on contact and lead").

Dropped, because no query of the product reads them:
- the `_like` twins (varchar_pattern_ops) that `db_index=True` adds on PostgreSQL next to the plain
  index of job_role, country, last_name (contact) and topic, status, email (lead): nothing filters
  these columns with LIKE 'prefix%' (search is `icontains`, served by the trigram indexes);
- contact.marketing_only (contact_view_idx leads with it), contact.do_not_bulk_email (a 90/10
  boolean nobody filters on its own), lead.score (its updates can now be HOT) and lead.sales_ready
  (replaced by the partial lead_sales_ready_contact_idx, which holds the sales-ready leads only).
Replaced by smaller ones: the guardian FK index (a partial index of the few contacts that have a
guardian) and the lead email index (now on lower(email), the expression email lookups compare).
Added: lead_conflict_contact_idx, so that deleting a contact no longer scans every lead to clear
`identity_conflict_contact`.

The plain indexes that stay keep their data: on PostgreSQL they are renamed and only their `_like`
twin is dropped (no rebuild); elsewhere (SQLite) they are recreated under the new name.
"""

import django.db.models.deletion
import django.db.models.functions.text
from django.conf import settings
from django.db import migrations, models

import crm_core.addresses

# (table, column, the index `db_index=True` made, its name as a Meta index)
KEPT_PLAIN = (
    ("crm_core_contact", "job_role", "crm_core_contact_job_role_2bba2830", "contact_job_role_idx"),
    ("crm_core_contact", "country", "crm_core_contact_country_b8565704", "contact_country_idx"),
    ("crm_core_contact", "last_name", "crm_core_contact_last_name_b2856a27", "contact_last_name_idx"),
    ("crm_core_lead", "topic", "crm_core_lead_topic_1a3b67f2", "lead_topic_idx"),
    ("crm_core_lead", "status", "crm_core_lead_status_a7fadbf0", "lead_status_idx"),
)


def rename_kept_indexes(apps, schema_editor):
    quote = schema_editor.quote_name
    for table, column, old, new in KEPT_PLAIN:
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(f"DROP INDEX IF EXISTS {quote(old + '_like')}")
            schema_editor.execute(f"ALTER INDEX {quote(old)} RENAME TO {quote(new)}")
        else:
            schema_editor.execute(f"DROP INDEX IF EXISTS {quote(old)}")
            schema_editor.execute(
                f"CREATE INDEX IF NOT EXISTS {quote(new)} ON {quote(table)} ({quote(column)})"
            )


def restore_kept_indexes(apps, schema_editor):
    quote = schema_editor.quote_name
    for table, column, old, new in KEPT_PLAIN:
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(f"ALTER INDEX {quote(new)} RENAME TO {quote(old)}")
            schema_editor.execute(
                f"CREATE INDEX {quote(old + '_like')} ON {quote(table)} ({quote(column)} varchar_pattern_ops)"
            )
        else:
            schema_editor.execute(f"DROP INDEX IF EXISTS {quote(new)}")
            schema_editor.execute(
                f"CREATE INDEX IF NOT EXISTS {quote(old)} ON {quote(table)} ({quote(column)})"
            )


JOB_ROLES = [
    ("decision_maker", "Decision maker"),
    ("influencer", "Influencer"),
    ("end_user", "End user"),
    ("technical_buyer", "Technical buyer"),
    ("economic_buyer", "Economic buyer"),
    ("champion", "Champion"),
    ("gatekeeper", "Gatekeeper"),
    ("executive_sponsor", "Executive sponsor"),
    ("procurement", "Procurement"),
    ("consultant", "Consultant"),
    ("student", "Student"),
    ("other", "Other"),
]
LEAD_STATUSES = [
    ("new", "New"),
    ("marketing_qualified", "Marketing qualified"),
    ("sales_accepted", "Sales accepted"),
    ("qualified", "Qualified"),
    ("disqualified", "Disqualified"),
    ("nurture", "Nurture"),
]


class Migration(migrations.Migration):
    dependencies = [
        ("crm_core", "0010_merge_pending_consent_and_lead_indexes"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        # Plain indexes kept under a Meta name, without their `_like` twin.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="contact",
                    name="job_role",
                    field=models.CharField(blank=True, choices=JOB_ROLES, max_length=32),
                ),
                migrations.AlterField(
                    model_name="contact",
                    name="country",
                    field=models.CharField(blank=True, max_length=64),
                ),
                migrations.AlterField(
                    model_name="contact",
                    name="last_name",
                    field=models.CharField(blank=True, max_length=100),
                ),
                migrations.AlterField(
                    model_name="lead",
                    name="topic",
                    field=models.CharField(max_length=200),
                ),
                migrations.AlterField(
                    model_name="lead",
                    name="status",
                    field=models.CharField(choices=LEAD_STATUSES, default="new", max_length=32),
                ),
                migrations.AddIndex(
                    model_name="contact",
                    index=models.Index(fields=["job_role"], name="contact_job_role_idx"),
                ),
                migrations.AddIndex(
                    model_name="contact",
                    index=models.Index(fields=["country"], name="contact_country_idx"),
                ),
                migrations.AddIndex(
                    model_name="contact",
                    index=models.Index(fields=["last_name"], name="contact_last_name_idx"),
                ),
                migrations.AddIndex(
                    model_name="lead",
                    index=models.Index(fields=["topic"], name="lead_topic_idx"),
                ),
                migrations.AddIndex(
                    model_name="lead",
                    index=models.Index(fields=["status"], name="lead_status_idx"),
                ),
            ],
            database_operations=[migrations.RunPython(rename_kept_indexes, restore_kept_indexes)],
        ),
        # Indexes no query reads.
        migrations.AlterField(
            model_name="contact",
            name="marketing_only",
            field=models.BooleanField(
                default=False,
                help_text="Made for marketing (e.g. by the orphan-lead workflow); hidden from sales views.",
            ),
        ),
        migrations.AlterField(
            model_name="contact",
            name="do_not_bulk_email",
            field=models.BooleanField(default=False),
        ),
        migrations.AlterField(
            model_name="lead",
            name="score",
            field=models.IntegerField(default=0),
        ),
        # Replaced by smaller or better-matching ones.
        migrations.AlterField(
            model_name="contact",
            name="guardian",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="wards",
                to="crm_core.contact",
            ),
        ),
        migrations.AddIndex(
            model_name="contact",
            index=models.Index(
                condition=models.Q(("guardian__isnull", False)),
                fields=["guardian"],
                name="contact_guardian_idx",
            ),
        ),
        migrations.AlterField(
            model_name="lead",
            name="email",
            field=crm_core.addresses.NormalizedEmailField(blank=True, max_length=254, null=True),
        ),
        migrations.AddIndex(
            model_name="lead",
            index=models.Index(django.db.models.functions.text.Lower("email"), name="lead_email_lower_idx"),
        ),
        migrations.AlterField(
            model_name="lead",
            name="sales_ready",
            field=models.BooleanField(default=False),
        ),
        migrations.AddIndex(
            model_name="lead",
            index=models.Index(
                condition=models.Q(("sales_ready", True)),
                fields=["parent_contact"],
                name="lead_sales_ready_contact_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="lead",
            index=models.Index(
                condition=models.Q(("identity_conflict_contact__isnull", False)),
                fields=["identity_conflict_contact"],
                name="lead_conflict_contact_idx",
            ),
        ),
    ]
