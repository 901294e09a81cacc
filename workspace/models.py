"""The workspace's one table: saved views of the contact and lead lists (named filter sets)."""

from django.conf import settings
from django.db import models


class SavedViewEntity(models.TextChoices):
    CONTACT = "contact", "Contacts"
    LEAD = "lead", "Leads"


class SavedView(models.Model):
    """A named filter set of one list, owned by a user; a shared one is offered, read-only, to everyone."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_views")
    entity = models.CharField(max_length=16, choices=SavedViewEntity.choices)
    name = models.CharField(max_length=100)
    # The list's query string without its page cursor, as the list's filter form accepted it.
    query = models.CharField(max_length=2000, blank=True)
    shared = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["owner", "entity", "name"], name="saved_view_owner_name_unique")
        ]
        indexes = [
            models.Index(
                fields=["entity", "name"], name="saved_view_shared_idx", condition=models.Q(shared=True)
            )
        ]

    def __str__(self) -> str:
        return self.name
