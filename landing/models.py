"""Landing pages, their forms, and every submission they receive (kept raw, then processed)."""

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models

from crm_core.models import ConsentLevel, Contact, Interaction, Lead, TimestampedModel


class PageStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    LIVE = "live", "Live"


class ContactMatching(models.TextChoices):
    """Which submitted values must all agree with an existing contact for the submission to be theirs."""

    EMAIL = "email", "Email"
    EMAIL_LAST_NAME = "email_last_name", "Email and last name"
    EMAIL_FULL_NAME = "email_full_name", "Email, first name and last name"


class LeadMatching(models.TextChoices):
    SAME_TOPIC = "same_topic", "Update the contact's open lead for the same topic"
    ANY_OPEN = "any_open", "Update any open lead of the contact"
    ALWAYS_NEW = "always_new", "Always create a new lead"


class LandingPage(TimestampedModel):
    """A public page with one form. Its content is stored sanitised (nh3)."""

    slug = models.SlugField(max_length=100, unique=True)
    title = models.CharField(max_length=200)
    content = models.TextField(
        blank=True, help_text="HTML; sanitised when saved (scripts and styles removed)."
    )
    status = models.CharField(
        max_length=16, choices=PageStatus.choices, default=PageStatus.DRAFT, db_index=True
    )
    lead_topic = models.CharField(max_length=200, help_text="Topic of the leads this page's form produces.")
    contact_matching = models.CharField(
        max_length=32, choices=ContactMatching.choices, default=ContactMatching.EMAIL
    )
    lead_matching = models.CharField(
        max_length=32, choices=LeadMatching.choices, default=LeadMatching.SAME_TOPIC
    )
    event = models.ForeignKey(
        "crm_core.Event",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="landing_pages",
        help_text="Register each person who sends the form for this event (none: no registration).",
    )
    submit_label = models.CharField(max_length=100, default="Submit")
    consent_text = models.CharField(
        max_length=500,
        blank=True,
        help_text="Text of the consent checkbox; no checkbox when empty.",
    )
    consent_required = models.BooleanField(default=False, help_text="The form cannot be sent unticked.")
    consent_level = models.PositiveSmallIntegerField(
        choices=ConsentLevel.choices,
        default=ConsentLevel.MARKETING,
        help_text="Consent level a ticked checkbox grants (never lowers the contact's level).",
    )
    identified_visitors_update = models.BooleanField(
        default=False,
        help_text=(
            "Let a visitor identified by a signed link from our email overwrite their own details. "
            "Anonymous posts only ever fill empty fields."
        ),
    )
    thank_you_message = models.TextField(blank=True, default="Thank you! We received your details.")
    redirect_url = models.URLField(blank=True, help_text="Where to send the person after a submission.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["title", "id"]

    def __str__(self) -> str:
        return f"{self.title} (/l/{self.slug}/)"

    def get_absolute_url(self) -> str:
        return f"/l/{self.slug}/"


class FieldType(models.TextChoices):
    TEXT = "text", "Text"
    EMAIL = "email", "Email"
    TEXTAREA = "textarea", "Long text"
    CHOICE = "choice", "Choice"
    CHECKBOX = "checkbox", "Checkbox"


# Form fields may write to these contact and lead fields, and to the entity's custom fields
# (`custom.<key>`, checked against the definitions by services.definitions), and no others.
CONTACT_TARGETS = ("email", "first_name", "last_name", "phone", "job_title", "job_role", "country", "city")
LEAD_TARGETS = ("first_name", "last_name", "company_name", "job_title", "job_role")

field_name_validator = RegexValidator(
    r"^[a-z][a-z0-9_]{0,49}$", "Use lower-case letters, digits and underscores, starting with a letter."
)


class FormField(models.Model):
    page = models.ForeignKey(LandingPage, on_delete=models.CASCADE, related_name="fields")
    name = models.CharField(max_length=50, validators=[field_name_validator])
    label = models.CharField(max_length=200)
    field_type = models.CharField(max_length=16, choices=FieldType.choices, default=FieldType.TEXT)
    required = models.BooleanField(default=False)
    max_length = models.PositiveIntegerField(default=200, help_text="Longest accepted value (characters).")
    choices = models.JSONField(default=list, blank=True, help_text='For "choice": a list of values.')
    # A built-in field (CONTACT_TARGETS / LEAD_TARGETS) or `custom.<key>`: landing_form_problems checks.
    contact_field = models.CharField(max_length=32, blank=True, help_text="Contact field it sets.")
    lead_field = models.CharField(max_length=32, blank=True, help_text="Lead field it sets.")
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["page", "position", "id"]
        constraints = [models.UniqueConstraint(fields=["page", "name"], name="form_field_name_unique")]

    def __str__(self) -> str:
        return f"{self.page.slug}.{self.name}"


class SubmissionStatus(models.TextChoices):
    PENDING = "pending", "Stored, not processed yet"
    PROCESSED = "processed", "Processed"
    RETRYING = "retrying", "Processing failed; will be retried"
    FAILED = "failed", "Processing failed; not retried (fix the cause, then re-queue)"
    INVALID = "invalid", "Invalid (field errors)"
    SPAM = "spam", "Held as spam (honeypot)"


class SubmissionOutcome(models.TextChoices):
    NEW_CONTACT = "new_contact", "Made a new contact"
    MATCHED_CONTACT = "matched_contact", "Matched an existing contact"
    UNMATCHED = "unmatched", "Email taken by a contact the strategy did not match: lead held for review"


class FormSubmission(models.Model):
    """A submission exactly as it arrived, stored before anything else happens to it."""

    page = models.ForeignKey(LandingPage, on_delete=models.PROTECT, related_name="submissions")
    payload = models.JSONField(default=dict)
    received_at = models.DateTimeField(db_index=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=500, blank=True)
    status = models.CharField(
        max_length=16, choices=SubmissionStatus.choices, default=SubmissionStatus.PENDING, db_index=True
    )
    errors = models.JSONField(default=dict, blank=True, help_text="Field errors of an invalid submission.")
    error = models.TextField(blank=True, help_text="Last processing failure.")
    attempts = models.PositiveIntegerField(default=0)
    outcome = models.CharField(max_length=32, choices=SubmissionOutcome.choices, blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    contact = models.ForeignKey(
        Contact, null=True, blank=True, on_delete=models.SET_NULL, related_name="form_submissions"
    )
    lead = models.ForeignKey(Lead, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    interaction = models.ForeignKey(
        Interaction, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-received_at", "-id"]
        indexes = [
            # The retry sweep finds work left behind without scanning processed rows.
            models.Index(
                fields=["received_at"],
                name="submission_unfinished_idx",
                condition=models.Q(status__in=["pending", "retrying"]),
            ),
        ]

    def __str__(self) -> str:
        return f"Submission {self.pk} to {self.page_id} ({self.status})"
