"""Duplicate candidates found by the duplicate detection job (crm_core/duplicate_scan.py) and its runs.

`DuplicateCandidate`: one row per pair of contacts (contact_a < contact_b) with the rules that matched
(`reasons`, comma-separated rule names, crm_core/duplicates_rules.py). A run replaces the set in one
transaction: new pairs inserted, pairs that no longer match deleted, the others kept with their
`found_at` and their `dismissed` flag ("not a duplicate": remembered across runs, even when the pair
stops matching). The contacts are foreign keys without a database constraint: a run reads a snapshot
of the contact table, and a contact deleted while it runs must not fail it; readers join the contact
table, so a pair whose contact was merged away or deleted is gone at once (a merge also deletes its
pairs, and the next run deletes any left).

`DuplicateScan`: one row per run (queued by "Scan now" or the nightly beat): its state, when it was
asked for, started and finished, and how many pairs it found.
"""

from django.conf import settings
from django.db import models


class DuplicateCandidate(models.Model):
    contact_a = models.ForeignKey(
        "crm_core.Contact", on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    contact_b = models.ForeignKey(
        "crm_core.Contact", on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    reasons = models.CharField(max_length=200, help_text="the rules that matched, comma-separated")
    found_at = models.DateTimeField(help_text="the run that first found the pair")
    dismissed = models.BooleanField(default=False, help_text="marked 'not a duplicate'")
    dismissed_at = models.DateTimeField(null=True, blank=True)
    dismissed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["contact_a", "contact_b"], name="duplicate_candidate_pair"),
            models.CheckConstraint(
                condition=models.Q(contact_a__lt=models.F("contact_b")), name="duplicate_candidate_order"
            ),
        ]
        indexes = [models.Index(fields=["contact_b"], name="duplicate_candidate_b_idx")]

    def __str__(self) -> str:
        return f"{self.contact_a_id} ~ {self.contact_b_id}"

    @property
    def reason_list(self) -> list[str]:
        return [r for r in self.reasons.split(",") if r]


class DuplicateScanState(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Scanning"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class DuplicateScan(models.Model):
    state = models.CharField(
        max_length=16, choices=DuplicateScanState.choices, default=DuplicateScanState.QUEUED
    )
    requested_at = models.DateTimeField()
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    pairs = models.IntegerField(null=True, blank=True, help_text="pairs found (dismissed ones included)")
    added = models.IntegerField(null=True, blank=True)
    removed = models.IntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"duplicate scan {self.pk} ({self.state})"
