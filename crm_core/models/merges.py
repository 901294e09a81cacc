"""Contacts merged into others: the merged-away id -> the surviving contact (crm_core.services.merge).

The merged-away row is deleted by the merge; its id keeps answering (the API's 404 names the
survivor, the contact page redirects to it) through this table. Chains are resolved when they form:
merging B (that absorbed A) into C re-points A's row at C, so a lookup is one primary-key probe.
"""

from django.conf import settings
from django.db import models


class MergedContact(models.Model):
    merged_id = models.BigIntegerField(primary_key=True, help_text="the id of the contact merged away")
    # A plain id, not a foreign key: the pointer outlives the survivor's own deletion (then it is a 404).
    survivor_id = models.BigIntegerField(db_index=True)
    merged_at = models.DateTimeField()
    # The merged-away contact's email when the survivor kept its own: a form post or an import with
    # that address still finds the person (crm_core.services.records.contact_get_or_create_by_email).
    email = models.CharField(
        max_length=254, null=True, blank=True, db_index=True, help_text="stored normalised"
    )
    merged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-merged_at", "merged_id"]

    def __str__(self) -> str:
        return f"contact {self.merged_id} -> {self.survivor_id}"
