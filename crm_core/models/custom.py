"""Custom fields: fields marketers and admins define per entity without a migration.

A definition (`CustomField`) names a key of the entity's `custom` JSON column (contact, account,
lead). Everything refers to a field by its key (`custom.<key>`), which never changes; the label is
only what people read, so renaming it breaks nothing.
"""

from django.core.validators import RegexValidator
from django.db import models


class CustomFieldEntity(models.TextChoices):
    CONTACT = "contact", "Contact"
    ACCOUNT = "account", "Account"
    LEAD = "lead", "Lead"


class CustomFieldType(models.TextChoices):
    TEXT = "text", "Text"
    NUMBER = "number", "Number"
    DATE = "date", "Date"
    CHOICE = "choice", "Choice"
    MULTI_CHOICE = "multi_choice", "Multiple choice"
    BOOLEAN = "boolean", "Yes / no"


# Short enough that "custom.<key>" fits a landing form field's 32-character mapping target.
custom_key_validator = RegexValidator(
    r"^[a-z][a-z0-9_]{0,24}\Z", "Use 1-25 lower-case letters, digits and underscores, starting with a letter."
)


class CustomField(models.Model):
    entity = models.CharField(max_length=16, choices=CustomFieldEntity.choices)
    key = models.CharField(max_length=25, validators=[custom_key_validator], help_text="Never changes.")
    label = models.CharField(max_length=100)
    field_type = models.CharField(max_length=16, choices=CustomFieldType.choices)
    required = models.BooleanField(default=False, help_text="A value is needed when a record is created.")
    # For choice and multiple choice: [{"value": "gold", "label": "Gold"}, ...]; values are slugs.
    choices = models.JSONField(default=list, blank=True)
    ordering = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["entity", "ordering", "id"]
        constraints = [
            models.UniqueConstraint(fields=["entity", "key"], name="custom_field_entity_key_unique")
        ]

    def __str__(self) -> str:
        return f"{self.entity}.custom.{self.key}"

    @property
    def name(self) -> str:
        """How definitions, filters, mappings and merge fields refer to it."""
        return f"custom.{self.key}"
