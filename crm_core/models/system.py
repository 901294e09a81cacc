"""The CRM's own records: the audit log of accountable actions and the workflow switches."""

from django.conf import settings
from django.db import models


class AuditLog(models.Model):
    """Who did what to whom, for actions that must be accountable (data export, erasure, ...)."""

    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    action = models.CharField(max_length=64, db_index=True, help_text="e.g. contact.export, contact.erase")
    object_type = models.CharField(max_length=64)
    object_id = models.CharField(max_length=64, db_index=True)
    details = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.action} {self.object_type}:{self.object_id}"


class WorkflowSettings(models.Model):
    """CRM workflow switches, one row (pk 1), edited in Django admin."""

    SINGLETON_PK = 1

    orphan_lead_workflow_enabled = models.BooleanField(
        "orphan-lead workflow",
        default=True,
        help_text=(
            "Give every lead without a parent contact a contact: the existing one with the same email, "
            "else a new marketing-only contact. Runs when a lead is saved without a parent contact "
            "and after a bulk import."
        ),
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "workflow settings"
        verbose_name_plural = "workflow settings"
        constraints = [
            models.CheckConstraint(condition=models.Q(pk=1), name="workflow_settings_singleton"),
        ]

    def __str__(self) -> str:
        return "Workflow settings"
