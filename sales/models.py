"""A rep's own work on CRM records: logged activities, tasks, notifications and per-user settings.

Activities and tasks name the record they are about (a contact, lead, account or opportunity) and
carry the contact and account that record belongs to, filled by the services, so each record's
timeline is one index range scan (`(contact|lead|account, time, id)`), never a join.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q

from crm_core.models import Account, Contact, Lead, Opportunity


class ActivityKind(models.TextChoices):
    NOTE = "note", "Note"
    CALL = "call", "Call"
    MEETING = "meeting", "Meeting"
    EMAIL = "email", "Email"


class CallOutcome(models.TextChoices):
    CONNECTED = "connected", "Connected"
    VOICEMAIL = "voicemail", "Left a voicemail"
    NO_ANSWER = "no_answer", "No answer"
    BUSY = "busy", "Busy"
    WRONG_NUMBER = "wrong_number", "Wrong number"


_ONE_RECORD = (
    Q(contact__isnull=False) | Q(lead__isnull=False) | Q(account__isnull=False) | Q(opportunity__isnull=False)
)


class RelatedRecordModel(models.Model):
    """The record an activity or task is about, and the contact and account it belongs to (each FK is
    led by a (record, time, id) index of the concrete model, so no single-column FK indexes)."""

    # Not hidden: the contact's data export (crm_core.privacy) walks the contact's relations.
    # Not hidden: the contact's data export (crm_core.privacy) walks the contact's relations.
    contact = models.ForeignKey(
        Contact,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="%(app_label)s_%(class)s_set",
        db_index=False,
    )
    lead = models.ForeignKey(
        Lead, null=True, blank=True, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    account = models.ForeignKey(
        Account, null=True, blank=True, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    opportunity = models.ForeignKey(
        Opportunity, null=True, blank=True, on_delete=models.CASCADE, related_name="+", db_index=False
    )

    class Meta:
        abstract = True

    @property
    def related_label(self) -> str:
        for name in ("opportunity", "lead", "contact", "account"):
            if getattr(self, f"{name}_id"):
                return name
        return ""


class Activity(RelatedRecordModel):
    """A note, call, meeting or email a person logged."""

    kind = models.CharField(max_length=16, choices=ActivityKind.choices)
    subject = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    outcome = models.CharField(max_length=16, choices=CallOutcome.choices, blank=True)
    duration_minutes = models.PositiveIntegerField(null=True, blank=True)
    meeting_at = models.DateTimeField(null=True, blank=True)
    attendees = models.TextField(blank=True, help_text="one per line")
    occurred_at = models.DateTimeField()
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-occurred_at", "-id"]
        verbose_name_plural = "activities"
        constraints = [
            models.CheckConstraint(condition=_ONE_RECORD, name="activity_has_record"),
            models.CheckConstraint(
                condition=Q(duration_minutes__isnull=True) | Q(duration_minutes__lte=24 * 60),
                name="activity_duration_max_day",
            ),
        ]
        indexes = [
            models.Index(fields=["contact", "occurred_at", "id"], name="activity_contact_at"),
            models.Index(fields=["lead", "occurred_at", "id"], name="activity_lead_at"),
            models.Index(fields=["account", "occurred_at", "id"], name="activity_account_at"),
            models.Index(fields=["opportunity", "occurred_at", "id"], name="activity_opportunity_at"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.subject}"


class TaskSource(models.TextChoices):
    MANUAL = "manual", "Created by hand"
    JOURNEY = "journey", "Journey step"
    HANDOFF = "handoff", "Sales-ready hand-off"


class Task(RelatedRecordModel):
    """A to-do for its owner, about one record."""

    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    due_at = models.DateTimeField(null=True, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    source = models.CharField(max_length=16, choices=TaskSource.choices, default=TaskSource.MANUAL)
    journey_id = models.BigIntegerField(null=True, blank=True, help_text="the journey whose step created it")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField()
    done_at = models.DateTimeField(null=True, blank=True)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    overdue_notified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["due_at", "id"]
        constraints = [models.CheckConstraint(condition=_ONE_RECORD, name="task_has_record")]
        indexes = [
            # A rep's open tasks by due date (the queue), and the overdue sweep.
            models.Index(
                fields=["owner", "due_at", "id"],
                name="task_open_owner_due",
                condition=Q(done_at__isnull=True),
            ),
            models.Index(
                fields=["due_at", "id"],
                name="task_overdue_sweep",
                condition=Q(done_at__isnull=True, overdue_notified_at__isnull=True),
            ),
            models.Index(fields=["contact", "created_at", "id"], name="task_contact_at"),
            models.Index(fields=["lead", "created_at", "id"], name="task_lead_at"),
            models.Index(fields=["account", "created_at", "id"], name="task_account_at"),
            models.Index(fields=["opportunity", "created_at", "id"], name="task_opportunity_at"),
            models.Index(
                fields=["contact", "done_at", "id"],
                name="task_contact_done",
                condition=Q(done_at__isnull=False),
            ),
            models.Index(
                fields=["lead", "done_at", "id"], name="task_lead_done", condition=Q(done_at__isnull=False)
            ),
            models.Index(
                fields=["account", "done_at", "id"],
                name="task_account_done",
                condition=Q(done_at__isnull=False),
            ),
            models.Index(fields=["source", "created_at", "id"], name="task_source_at"),
            # What a journey's task step created (the journey page).
            models.Index(
                fields=["journey_id", "created_at", "id"],
                name="task_journey_at",
                condition=Q(journey_id__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return self.title


class NotificationKind(models.TextChoices):
    HANDOFF = "handoff", "Lead handed over"
    TASK_ASSIGNED = "task_assigned", "Task assigned"
    TASK_OVERDUE = "task_overdue", "Task overdue"
    MARKETING_TOUCH = "marketing_touch", "Marketing touched your lead"


class Notification(models.Model):
    """Something a user is told in the app (and by email where their settings say so)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    kind = models.CharField(max_length=32, choices=NotificationKind.choices)
    message = models.CharField(max_length=300)
    lead = models.ForeignKey(Lead, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    task = models.ForeignKey(Task, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField()
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["user", "created_at", "id"], name="notification_user_at"),
            models.Index(
                fields=["user", "lead", "kind", "created_at"],
                name="notification_unread",
                condition=Q(read_at__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return self.message


class UserSettings(models.Model):
    """Per user: which notifications also come by email, and when they last opened their queue."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    email_handoff = models.BooleanField(default=True)
    email_task_assigned = models.BooleanField(default=True)
    email_task_overdue = models.BooleanField(default=True)
    email_marketing_touch = models.BooleanField(default=False)
    queue_seen_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "user settings"

    def __str__(self) -> str:
        return f"settings of user {self.user_id}"

    @classmethod
    def email_field(cls, kind: str) -> str:
        return f"email_{kind}"
