"""What contacts did: interactions (opens, clicks, visits, forms, ...) and event registrations."""

from django.core.validators import MinValueValidator
from django.db import models

from .base import TimestampedModel
from .people import Contact


class InteractionKind(models.TextChoices):
    EMAIL_SENT = "email_sent", "Email sent"
    EMAIL_OPEN = "email_open", "Email opened"
    EMAIL_CLICK = "email_click", "Email link clicked"
    PAGE_VISIT = "page_visit", "Page visit"
    FORM_SUBMIT = "form_submit", "Form submitted"
    DOWNLOAD = "download", "Download"
    EVENT_REGISTRATION = "event_registration", "Event registration"
    EVENT_ATTENDANCE = "event_attendance", "Event attendance"


class Interaction(models.Model):
    """Something a contact did. It belongs to the contact, never to a lead."""

    # Covered by the (contact, kind, occurred_at) index below.
    contact = models.ForeignKey(
        Contact, on_delete=models.CASCADE, related_name="interactions", db_index=False
    )
    kind = models.CharField(max_length=32, choices=InteractionKind.choices)
    occurred_at = models.DateTimeField()
    properties = models.JSONField(default=dict, blank=True, help_text="e.g. url, email, form, event")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-occurred_at", "-id"]
        indexes = [
            models.Index(fields=["contact", "kind", "occurred_at"], name="interaction_contact_kind_at"),
            models.Index(fields=["kind", "occurred_at"], name="interaction_kind_at"),
            # A contact's timeline, newest first, in pages (sales.timeline).
            models.Index(fields=["contact", "occurred_at", "id"], name="interaction_contact_at_id"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} by contact {self.contact_id} at {self.occurred_at:%Y-%m-%d %H:%M}"


class Event(TimestampedModel):
    name = models.CharField(max_length=200, db_index=True)
    starts_at = models.DateTimeField(null=True, blank=True)
    location = models.CharField(max_length=200, blank=True)
    # Places offered (empty: no limit); shown against the registrations, not enforced on them.
    capacity = models.PositiveIntegerField(null=True, blank=True, validators=[MinValueValidator(1)])

    class Meta:
        ordering = ["-starts_at", "id"]

    def __str__(self) -> str:
        return self.name


class EventRegistration(models.Model):
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="registrations")
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="registrations")
    registered_at = models.DateTimeField()
    attended = models.BooleanField(default=False)

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["event", "contact"], name="event_registration_unique")]

    def __str__(self) -> str:
        return f"{self.contact_id} at {self.event_id}"
