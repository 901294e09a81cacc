"""Imports of contacts, accounts and leads from an uploaded file: the job and remembered mappings."""

from django.conf import settings
from django.db import models


class ImportEntity(models.TextChoices):
    CONTACT = "contact", "Contacts"
    ACCOUNT = "account", "Accounts"
    LEAD = "lead", "Leads"


class KnownEmail(models.TextChoices):
    """What a contact row whose email a contact already has does."""

    UPDATE = "update", "Update the known contact"
    SKIP = "skip", "Skip the row"


class ImportStatus(models.TextChoices):
    UPLOADED = "uploaded", "Uploaded"  # waiting for its mapping
    MAPPED = "mapped", "Mapped"  # mapping saved; preview shown; may run
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"  # nothing of the file was saved; the report says why


class ImportJob(models.Model):
    """One uploaded file and what became of it. The run writes the whole file in one transaction,
    so a failed run leaves nothing of it behind. The stored upload is deleted once the run has
    finished (done or failed; the report stays as long as the job), and with the job when it was
    never run for `IMPORT_UPLOAD_KEEP_DAYS` (`crm_core.import_files_cleanup`)."""

    entity = models.CharField(max_length=16, choices=ImportEntity.choices)
    file = models.FileField(upload_to="imports/uploads/%Y/%m/")
    file_name = models.CharField(max_length=255, blank=True)
    file_format = models.CharField(max_length=8)  # csv or xlsx
    header = models.JSONField(default=list)  # the file's column names, in order
    mapping = models.JSONField(default=dict, blank=True)  # column name -> field name ("" = ignored)
    on_known_email = models.CharField(max_length=8, choices=KnownEmail.choices, default=KnownEmail.UPDATE)
    status = models.CharField(max_length=16, choices=ImportStatus.choices, default=ImportStatus.UPLOADED)
    total_rows = models.PositiveIntegerField(default=0)
    created_count = models.PositiveIntegerField(default=0)
    updated_count = models.PositiveIntegerField(default=0)
    skipped_count = models.PositiveIntegerField(default=0)
    failed_count = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)  # why a failed run saved nothing
    report = models.FileField(upload_to="imports/reports/%Y/%m/", blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["created_by", "-id"], name="import_job_owner_idx")]

    def __str__(self) -> str:
        return f"Import {self.pk} ({self.entity}, {self.status})"


class ImportMapping(models.Model):
    """A mapping remembered per user, entity and header (the column names, in order): the next file
    with the same header starts from it."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    entity = models.CharField(max_length=16, choices=ImportEntity.choices)
    header_signature = models.CharField(max_length=64)  # sha256 of the normalised header
    mapping = models.JSONField(default=dict)
    on_known_email = models.CharField(max_length=8, choices=KnownEmail.choices, default=KnownEmail.UPDATE)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "entity", "header_signature"], name="import_mapping_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.entity} mapping of user {self.user_id}"
