"""Counts of records by the day they were created, kept exact by the database itself.

`RecordCount` rows are signed deltas: the count of a key (entity, day, status, score bucket, flag)
is the SUM of `n` over its rows. On PostgreSQL, triggers on contact, lead and opportunity (migration
0015) add one row per key a write statement changed, in the same transaction as the write, whoever
writes (services, set-based jobs, admin, demo COPY, deletes); no writer updates a shared counter row,
so concurrent writers never wait on each other. `record_counts_compact` (beat) folds the deltas into
one row per key. The portable path (SQLite) does not keep them and counts the records directly.
"""

from django.db import models

# Score buckets of leads: (label, lower bound inclusive, upper bound exclusive; None = open). The
# triggers of migration 0015 store the bucket's index; changing these needs a migration that
# replaces the lead trigger's function and rebuilds the lead rows.
SCORE_BUCKETS = (
    ("< 0", None, 0),
    ("0-24", 0, 25),
    ("25-49", 25, 50),
    ("50-74", 50, 75),
    ("75-99", 75, 100),
    ("100-149", 100, 150),
    ("150-199", 150, 200),
    ("200+", 200, None),
)


class CountedEntity(models.TextChoices):
    CONTACT = "contact", "Contact"
    LEAD = "lead", "Lead"
    OPPORTUNITY = "opportunity", "Opportunity"


class RecordCount(models.Model):
    """A signed count of records of one key created on one day (UTC)."""

    entity = models.CharField(max_length=16, choices=CountedEntity.choices)
    day = models.DateField(help_text="the records' creation day, UTC")
    # Leads and opportunities: their status; contacts: "".
    status = models.CharField(max_length=32, blank=True)
    # Leads: the index of the score's bucket in SCORE_BUCKETS; others: NULL.
    score_bucket = models.SmallIntegerField(null=True, blank=True)
    # Contacts: made by the orphan-lead workflow; leads: no parent contact; opportunities: false.
    flag = models.BooleanField(default=False)
    n = models.BigIntegerField()
    # False: a delta a trigger added; true: a sum `record_counts_compact` (or the backfill) wrote.
    compact = models.BooleanField(default=False)

    class Meta:
        db_table = "crm_core_record_count"
        indexes = [
            models.Index(fields=["day"], name="record_count_day_idx"),
            # The orphan leads still unlinked (any day).
            models.Index(
                fields=["entity"],
                name="record_count_flag_idx",
                condition=models.Q(flag=True),
            ),
            # The deltas compaction folds.
            models.Index(fields=["id"], name="record_count_delta_idx", condition=models.Q(compact=False)),
        ]

    def __str__(self) -> str:
        return f"{self.entity} {self.day} {self.status} {self.score_bucket} {self.flag}: {self.n}"
