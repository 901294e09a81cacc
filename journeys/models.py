"""Journeys: multi-step campaigns, their enrollments, step executions and the email outbox.

The engine's exactly-once rules live in the constraints here:
- one `Enrollment` per (journey, contact);
- one `StepExecution` per (enrollment, seq): `seq` is the enrollment's transition counter, read and
  bumped under the enrollment's row lock, written in the same transaction as the state change;
- one `OutboundEmail` per step execution that sends, claimed for sending exactly once.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from crm_core.models import ConsentLevel, Contact, InteractionKind


class JourneyStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    LIVE = "live", "Live"
    PAUSED = "paused", "Paused"
    STOPPED = "stopped", "Stopped"


class EntryType(models.TextChoices):
    SEGMENT = "segment", "Members of a segment"
    TRIGGER = "trigger", "A trigger"


class TriggerKind(models.TextChoices):
    FORM_SUBMIT = "form_submit", "Form submitted on a page"
    LEAD_CREATED = "lead_created", "Lead created"
    INTERACTION = "interaction", "Interaction of a kind"
    FIELD_CHANGED = "field_changed", "Contact field changed to a value"


class Journey(models.Model):
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    status = models.CharField(
        max_length=16, choices=JourneyStatus.choices, default=JourneyStatus.DRAFT, db_index=True
    )
    entry_type = models.CharField(max_length=16, choices=EntryType.choices, default=EntryType.SEGMENT)
    # Segment ids are read only through journeys.adapters (segments' stored membership).
    entry_segment_id = models.BigIntegerField(null=True, blank=True)
    trigger_kind = models.CharField(max_length=32, choices=TriggerKind.choices, blank=True)
    trigger_config = models.JSONField(
        default=dict,
        blank=True,
        help_text="form_submit: {page}; interaction: {kind}; "
        "lead_created: {topic?}; field_changed: {field, value}",
    )
    suppression_segment_id = models.BigIntegerField(null=True, blank=True)
    min_consent_level = models.PositiveSmallIntegerField(
        choices=ConsentLevel.choices, default=ConsentLevel.MARKETING
    )
    subscription_list = models.ForeignKey(
        "crm_core.SubscriptionList",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="journeys",
        help_text="The list this journey's emails belong to; its unsubscribers get none.",
    )
    allow_reentry = models.BooleanField(default=False)
    exit_on_sales_ready = models.BooleanField(default=True)
    exit_condition = models.JSONField(
        null=True, blank=True, help_text="optional contact condition (segment tree) that ends the journey"
    )
    # Where the entry scan resumes: joins / trigger events at or after this time.
    entry_cursor = models.DateTimeField(null=True, blank=True)
    went_live_at = models.DateTimeField(null=True, blank=True)
    # When it last went live (first time or after a pause): triggers count nothing from before.
    live_since = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The create form's (or the API's Idempotency-Key) token: a second submit of the same form finds
    # this journey instead of making another.
    create_token = models.CharField(max_length=200, null=True, blank=True, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return self.name


class StepKind(models.TextChoices):
    SEND_EMAIL = "send_email", "Send email"
    WAIT_DURATION = "wait_duration", "Wait for a duration"
    WAIT_UNTIL = "wait_until", "Wait until a date"
    IF_CONDITION = "if_condition", "If contact/lead condition"
    IF_INTERACTION = "if_interaction", "If interaction since entry"
    SPLIT = "split", "Split by percentage"
    CREATE_LEAD = "create_lead", "Create lead"
    UPDATE_FIELD = "update_field", "Update contact field"
    LIST_ADD = "list_add", "Add to subscription list"
    LIST_REMOVE = "list_remove", "Remove from subscription list"
    SEGMENT_ADD = "segment_add", "Add to static segment"
    SEGMENT_REMOVE = "segment_remove", "Remove from static segment"
    CREATE_TASK = "create_task", "Create sales task"
    END = "end", "End"


BRANCHING_KINDS = {StepKind.IF_CONDITION, StepKind.IF_INTERACTION, StepKind.SPLIT}


class Step(models.Model):
    """One node of a journey's graph. `next_step` is the default (or "yes"/"A") edge,
    `else_step` the "no"/"B" edge of branching steps; none means the journey ends there.
    The step with the lowest position is where contacts enter."""

    journey = models.ForeignKey(Journey, on_delete=models.CASCADE, related_name="steps")
    key = models.SlugField(max_length=64)
    position = models.PositiveIntegerField(default=0)
    kind = models.CharField(max_length=32, choices=StepKind.choices)
    config = models.JSONField(default=dict, blank=True)
    next_step = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    else_step = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["journey_id", "position", "id"]
        constraints = [models.UniqueConstraint(fields=["journey", "key"], name="journey_step_key_unique")]

    def __str__(self) -> str:
        return f"{self.key} ({self.get_kind_display()})"


class TrackedLink(models.Model):
    """A link of a send-email step; a click token names one of these, so it redirects only here."""

    step = models.ForeignKey(Step, on_delete=models.CASCADE, related_name="links")
    position = models.PositiveIntegerField()
    url = models.URLField(max_length=2000)

    class Meta:
        ordering = ["step_id", "position"]
        constraints = [models.UniqueConstraint(fields=["step", "position"], name="tracked_link_unique")]

    def __str__(self) -> str:
        return self.url


class EnrollmentState(models.TextChoices):
    ACTIVE = "active", "Active (due)"
    WAITING = "waiting", "Waiting"
    COMPLETED = "completed", "Completed"
    EXITED = "exited", "Exited"


OPEN_STATES = (EnrollmentState.ACTIVE, EnrollmentState.WAITING)


class Enrollment(models.Model):
    # No single-column indexes on journey and contact: (journey, contact) and (contact, state) lead with them.
    journey = models.ForeignKey(Journey, on_delete=models.CASCADE, related_name="enrollments", db_index=False)
    contact = models.ForeignKey(
        Contact, on_delete=models.CASCADE, related_name="journey_enrollments", db_index=False
    )
    current_step = models.ForeignKey(Step, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    state = models.CharField(max_length=16, choices=EnrollmentState.choices, default=EnrollmentState.ACTIVE)
    next_run_at = models.DateTimeField(null=True, blank=True)
    # Transition counter: the attempt key of StepExecution. Bumped under the row lock.
    seq = models.PositiveIntegerField(default=0)
    entry_number = models.PositiveIntegerField(default=1)
    entered_at = models.DateTimeField()
    step_started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    exit_reason = models.CharField(max_length=64, blank=True)
    # Lease of the tick that handed this enrollment to a worker (cleared when it is processed).
    dispatched_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["journey", "contact"], name="enrollment_journey_contact_unique")
        ]
        indexes = [
            # (next_run_at, id): the order the tick leases in, so each chunk continues after the last.
            models.Index(
                fields=["next_run_at", "id"],
                name="enrollment_due_idx",
                condition=models.Q(state__in=["active", "waiting"]),
            ),
            models.Index(fields=["journey", "state"], name="enrollment_journey_state_idx"),
            models.Index(fields=["contact", "state"], name="enrollment_contact_state_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.contact_id} in {self.journey_id} ({self.state})"


class ExecutionOutcome(models.TextChoices):
    DONE = "done", "Done"
    EMAIL_QUEUED = "email_queued", "Email queued"
    SKIPPED_CONSENT = "skipped_consent", "Email skipped (consent)"
    SKIPPED_NO_EMAIL = "skipped_no_email", "Email skipped (no address)"
    YES = "yes", "Branch yes / A"
    NO = "no", "Branch no / B"
    FAILED = "failed", "Failed"


class StepExecution(models.Model):
    """The record that a step ran for an enrollment: written in the same transaction as the
    enrollment's state change; unique per (enrollment, seq)."""

    # enrollment and step: covered by the (enrollment, seq) and (step, outcome) indexes. Only the
    # enrollment is a foreign key in the database: journey and step are the enrollment's (the
    # engine writes them from it), and a batch inserts a thousand rows, each of whose foreign keys
    # is a row-by-row check at commit. Deleting a journey or step still cascades (Django's
    # collector).
    enrollment = models.ForeignKey(
        Enrollment, on_delete=models.CASCADE, related_name="executions", db_index=False
    )
    seq = models.PositiveIntegerField()
    entry_number = models.PositiveIntegerField(default=1)
    journey = models.ForeignKey(Journey, on_delete=models.CASCADE, related_name="+", db_constraint=False)
    step = models.ForeignKey(
        Step, on_delete=models.CASCADE, related_name="executions", db_index=False, db_constraint=False
    )
    outcome = models.CharField(max_length=32, choices=ExecutionOutcome.choices)
    detail = models.CharField(max_length=200, blank=True)
    executed_at = models.DateTimeField()

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["enrollment", "seq"], name="step_execution_once")]
        indexes = [models.Index(fields=["step", "outcome"], name="step_execution_stats_idx")]

    def __str__(self) -> str:
        return f"{self.enrollment_id}#{self.seq} {self.step_id} {self.outcome}"


class OutboxStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SENDING = "sending", "Being sent"
    SENT = "sent", "Sent"
    SKIPPED = "skipped", "Skipped at send time"
    FAILED = "failed", "Failed"


class OutboundEmail(models.Model):
    """The outbox: one row per email a step decided to send. A sender claims rows (pending ->
    sending, under a claim id whose PostgreSQL advisory lock it holds) and marks each sent in its
    own commit right after the SMTP call returns."""

    # Only the execution is a foreign key in the database: enrollment, journey, step and contact are
    # the execution's (and its enrollment's), written from it by the engine, so the one check per
    # row at commit stands for five (a batch queues a thousand emails). Deletes still cascade
    # through all of them (Django's collector).
    execution = models.OneToOneField(StepExecution, on_delete=models.CASCADE, related_name="email")
    enrollment = models.ForeignKey(
        Enrollment, on_delete=models.CASCADE, related_name="emails", db_constraint=False
    )
    journey = models.ForeignKey(Journey, on_delete=models.CASCADE, related_name="+", db_constraint=False)
    step = models.ForeignKey(  # covered by (step, status)
        Step, on_delete=models.CASCADE, related_name="emails", db_index=False, db_constraint=False
    )
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="+", db_constraint=False)
    status = models.CharField(max_length=16, choices=OutboxStatus.choices, default=OutboxStatus.PENDING)
    claim_id = models.IntegerField(null=True, blank=True)
    # When the current claim was taken: without advisory locks (the portable path) a claim older than
    # JOURNEYS_DISPATCH_LEASE_SECONDS belongs to a dead sender (tasks are killed long before).
    claimed_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    skip_reason = models.CharField(max_length=64, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)
    first_opened_at = models.DateTimeField(null=True, blank=True)
    first_clicked_at = models.DateTimeField(null=True, blank=True)
    open_count = models.PositiveIntegerField(default=0)
    click_count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(
                fields=["id"],
                name="outbox_unsent_idx",
                condition=models.Q(status__in=["pending", "sending"]),
            ),
            models.Index(fields=["step", "status"], name="outbox_step_status_idx"),
        ]

    def __str__(self) -> str:
        return f"email {self.pk} to {self.contact_id} ({self.status})"


TRACKED_INTERACTIONS = (InteractionKind.EMAIL_OPEN, InteractionKind.EMAIL_CLICK)


class EmailKind(models.TextChoices):
    MARKETING = "marketing", "Marketing"
    TRANSACTIONAL = "transactional", "Transactional"


class EmailTemplate(models.Model):
    """A reusable email built in the visual editor. `editor_data` is the editor's own project JSON
    (kept for the editor, never typed by a user); `mjml` is the source it exports; `html` (compiled
    server-side, CSS inlined) and `text` (generated) are what journeys send. A marketing template
    always carries the `{{ unsubscribe_url }}` link (`journeys/email_compile.py`)."""

    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=16, choices=EmailKind.choices, default=EmailKind.MARKETING)
    subject = models.CharField(max_length=300)
    preheader = models.CharField(max_length=300, blank=True)
    editor_data = models.JSONField(default=dict, blank=True)
    mjml = models.TextField()
    html = models.TextField(blank=True)
    text = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return self.name
