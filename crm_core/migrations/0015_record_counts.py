"""Records counted by creation day (UTC), kept exact by PostgreSQL triggers: the dashboard's numbers.

`crm_core_record_count` holds signed deltas per key (crm_core/models/counts.py). Statement-level
AFTER triggers with transition tables on lead and opportunity (INSERT, UPDATE, DELETE) and on
contact (INSERT, DELETE) add, in the writing transaction, one row per key the statement changed
(`sum(n)` grouped by key; nothing when no key changed). Contacts change key only when created_at or
origin changes, which nothing in the product does: a row-level trigger limited to those columns
(and to rows where they differ) covers it without costing the contact's other updates anything.

The triggers are created before the backfill, in this migration's transaction: creating a trigger
locks its table against writes until commit, so no write can fall between the backfill's snapshot
and the triggers. The backfill is one INSERT ... SELECT ... GROUP BY per table.

PostgreSQL only: the portable path (SQLite) counts the records directly and keeps no rows here.
"""

from django.db import migrations, models

# A copy of crm_core.models.counts.SCORE_BUCKETS' upper bounds as of this migration (a test holds
# them equal): bucket i holds scores below BOUNDS[i] and at or above BOUNDS[i - 1].
BUCKET_UPPER_BOUNDS = (0, 25, 50, 75, 100, 150, 200)
ORPHAN_WORKFLOW_ORIGIN = "orphan_lead_workflow"

DAY = "(created_at AT TIME ZONE 'UTC')::date"
BUCKET = (
    "CASE "
    + " ".join(f"WHEN score < {bound} THEN {index}" for index, bound in enumerate(BUCKET_UPPER_BOUNDS))
    + f" ELSE {len(BUCKET_UPPER_BOUNDS)} END"
)
# (entity, table, key columns as entity, day, status, score_bucket, flag)
KEYS = {
    "contact": (
        "crm_core_contact",
        f"'contact', {DAY}, ''::varchar, NULL::smallint, origin = '{ORPHAN_WORKFLOW_ORIGIN}'",
    ),
    "lead": ("crm_core_lead", f"'lead', {DAY}, status, ({BUCKET})::smallint, parentcontactid IS NULL"),
    "opportunity": ("crm_core_opportunity", f"'opportunity', {DAY}, status, NULL::smallint, false"),
}
INSERT = "INSERT INTO crm_core_record_count (entity, day, status, score_bucket, flag, n, compact)"


def _function(entity: str) -> str:
    _, key = KEYS[entity]
    return f"""
CREATE OR REPLACE FUNCTION crm_core_count_{entity}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        {INSERT}
        SELECT e, d, s, b, f, count(*), false FROM (SELECT {key} FROM new_rows) k (e, d, s, b, f)
        GROUP BY e, d, s, b, f;
    ELSIF TG_OP = 'DELETE' THEN
        {INSERT}
        SELECT e, d, s, b, f, -count(*), false FROM (SELECT {key} FROM old_rows) k (e, d, s, b, f)
        GROUP BY e, d, s, b, f;
    ELSE
        {INSERT}
        SELECT e, d, s, b, f, sum(n), false
        FROM (SELECT {key}, 1 FROM new_rows UNION ALL SELECT {key}, -1 FROM old_rows) k (e, d, s, b, f, n)
        GROUP BY e, d, s, b, f HAVING sum(n) <> 0;
    END IF;
    RETURN NULL;
END $$"""


def _statement_trigger(entity: str, event: str) -> str:
    table, _ = KEYS[entity]
    referencing = {
        "INSERT": "NEW TABLE AS new_rows",
        "DELETE": "OLD TABLE AS old_rows",
        "UPDATE": "OLD TABLE AS old_rows NEW TABLE AS new_rows",
    }[event]
    return (
        f"CREATE TRIGGER crm_core_count_{entity}_{event.lower()} AFTER {event} ON {table}"
        f" REFERENCING {referencing} FOR EACH STATEMENT EXECUTE FUNCTION crm_core_count_{entity}()"
    )


CONTACT_ROW_FUNCTION = f"""
CREATE OR REPLACE FUNCTION crm_core_count_contact_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    {INSERT} VALUES
    ('contact', (OLD.created_at AT TIME ZONE 'UTC')::date, '', NULL, OLD.origin = '{ORPHAN_WORKFLOW_ORIGIN}', -1, false),
    ('contact', (NEW.created_at AT TIME ZONE 'UTC')::date, '', NULL, NEW.origin = '{ORPHAN_WORKFLOW_ORIGIN}', 1, false);
    RETURN NULL;
END $$"""
CONTACT_ROW_TRIGGER = (
    "CREATE TRIGGER crm_core_count_contact_update AFTER UPDATE OF created_at, origin ON crm_core_contact"
    " FOR EACH ROW WHEN (OLD.created_at IS DISTINCT FROM NEW.created_at OR OLD.origin IS DISTINCT FROM NEW.origin)"
    " EXECUTE FUNCTION crm_core_count_contact_row()"
)
TRIGGERS = (
    [("contact", event) for event in ("INSERT", "DELETE")]
    + [("contact", "UPDATE")]
    + [(entity, event) for entity in ("lead", "opportunity") for event in ("INSERT", "UPDATE", "DELETE")]
)


def _backfill(entity: str) -> str:
    table, key = KEYS[entity]
    return (
        f"{INSERT} SELECT e, d, s, b, f, count(*), true FROM (SELECT {key} FROM {table}) k (e, d, s, b, f)"
        " GROUP BY e, d, s, b, f"
    )


def create_triggers_and_backfill(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for entity in KEYS:
        schema_editor.execute(_function(entity))
    schema_editor.execute(CONTACT_ROW_FUNCTION)
    for entity, event in TRIGGERS:
        if (entity, event) == ("contact", "UPDATE"):
            schema_editor.execute(CONTACT_ROW_TRIGGER)
        else:
            schema_editor.execute(_statement_trigger(entity, event))
    for entity in KEYS:
        schema_editor.execute(_backfill(entity))
    schema_editor.execute("ANALYZE crm_core_record_count")  # the planner's first statistics


def drop_triggers(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for entity, event in TRIGGERS:
        table, _ = KEYS[entity]
        schema_editor.execute(f"DROP TRIGGER IF EXISTS crm_core_count_{entity}_{event.lower()} ON {table}")
    for entity in KEYS:
        schema_editor.execute(f"DROP FUNCTION IF EXISTS crm_core_count_{entity}()")
    schema_editor.execute("DROP FUNCTION IF EXISTS crm_core_count_contact_row()")


class Migration(migrations.Migration):
    dependencies = [("crm_core", "0014_import_jobs")]

    operations = [
        migrations.CreateModel(
            name="RecordCount",
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
                        choices=[("contact", "Contact"), ("lead", "Lead"), ("opportunity", "Opportunity")],
                        max_length=16,
                    ),
                ),
                ("day", models.DateField(help_text="the records' creation day, UTC")),
                ("status", models.CharField(blank=True, max_length=32)),
                ("score_bucket", models.SmallIntegerField(blank=True, null=True)),
                ("flag", models.BooleanField(default=False)),
                ("n", models.BigIntegerField()),
                ("compact", models.BooleanField(default=False)),
            ],
            options={
                "db_table": "crm_core_record_count",
                "indexes": [
                    models.Index(fields=["day"], name="record_count_day_idx"),
                    models.Index(
                        condition=models.Q(("flag", True)), fields=["entity"], name="record_count_flag_idx"
                    ),
                    models.Index(
                        condition=models.Q(("compact", False)), fields=["id"], name="record_count_delta_idx"
                    ),
                ],
            },
        ),
        migrations.RunPython(create_triggers_and_backfill, drop_triggers, elidable=False),
    ]
