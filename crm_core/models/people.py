"""Accounts (companies) and contacts (people), with the choices that describe them."""

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower, Trim

from ..addresses import NormalizedEmailField
from .base import RecordModel


class Industry(models.TextChoices):
    SOFTWARE = "software", "Software"
    MANUFACTURING = "manufacturing", "Manufacturing"
    FINANCE = "finance", "Financial services"
    HEALTHCARE = "healthcare", "Healthcare"
    RETAIL = "retail", "Retail"
    EDUCATION = "education", "Education"
    GOVERNMENT = "government", "Government"
    ENERGY = "energy", "Energy"
    TELECOM = "telecom", "Telecommunications"
    MEDIA = "media", "Media"
    CONSULTING = "consulting", "Consulting"
    OTHER = "other", "Other"


class JobRole(models.TextChoices):
    DECISION_MAKER = "decision_maker", "Decision maker"
    INFLUENCER = "influencer", "Influencer"
    END_USER = "end_user", "End user"
    TECHNICAL_BUYER = "technical_buyer", "Technical buyer"
    ECONOMIC_BUYER = "economic_buyer", "Economic buyer"
    CHAMPION = "champion", "Champion"
    GATEKEEPER = "gatekeeper", "Gatekeeper"
    EXECUTIVE_SPONSOR = "executive_sponsor", "Executive sponsor"
    PROCUREMENT = "procurement", "Procurement"
    CONSULTANT = "consultant", "Consultant"
    STUDENT = "student", "Student"
    OTHER = "other", "Other"


class ContactOrigin(models.TextChoices):
    MANUAL = "manual", "Entered by hand"
    IMPORT = "import", "Import"
    LANDING_PAGE = "landing_page", "Landing page"
    ORPHAN_LEAD_WORKFLOW = "orphan_lead_workflow", "Orphan-lead workflow"
    API = "api", "API"
    JOURNEY = "journey", "Journey"


class ConsentLevel(models.IntegerChoices):
    NOT_SET = 0, "Not set"
    CONSENT = 1, "Consent"
    TRANSACTIONAL = 2, "Transactional"
    MARKETING = 3, "Marketing"
    TRACKING = 4, "Tracking"
    PROFILING = 5, "Profiling"


class Account(RecordModel):
    """A company. Account-based marketing treats it as the set of its contacts."""

    name = models.CharField(max_length=200, db_index=True)
    industry = models.CharField(max_length=32, choices=Industry.choices, blank=True, db_index=True)
    country = models.CharField(max_length=64, blank=True, db_index=True)
    website = models.URLField(blank=True)
    employees = models.PositiveIntegerField(null=True, blank=True)
    annual_revenue = models.DecimalField(max_digits=16, decimal_places=2, null=True, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="accounts"
    )
    parent_account = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="child_accounts"
    )
    # Custom field values by key (crm_core.custom_fields validates them); jsonb on PostgreSQL. The
    # database default serves writers that name their columns (the demo's COPY).
    custom = models.JSONField(default=dict, db_default={}, blank=True)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class Contact(RecordModel):
    """One person: the only record segments and journeys target."""

    first_name = models.CharField(max_length=100, blank=True)
    last_name = models.CharField(max_length=100, blank=True)
    email = NormalizedEmailField(null=True, blank=True)
    phone = models.CharField(max_length=40, blank=True)
    job_title = models.CharField(max_length=150, blank=True)
    job_role = models.CharField(max_length=32, choices=JobRole.choices, blank=True)
    country = models.CharField(max_length=64, blank=True)
    city = models.CharField(max_length=100, blank=True)
    parent_account = models.ForeignKey(
        Account, null=True, blank=True, on_delete=models.SET_NULL, related_name="contacts"
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="contacts"
    )
    marketing_only = models.BooleanField(
        default=False,
        help_text="Made for marketing (e.g. by the orphan-lead workflow); hidden from sales views.",
    )
    origin = models.CharField(max_length=32, choices=ContactOrigin.choices, default=ContactOrigin.MANUAL)

    # Contact preferences and data protection, as in Dynamics 365.
    do_not_bulk_email = models.BooleanField(default=False)
    do_not_email = models.BooleanField(default=False)
    allow_prefill = models.BooleanField(default=False)
    track_email = models.BooleanField(default=True)
    consent_level = models.PositiveSmallIntegerField(
        choices=ConsentLevel.choices, default=ConsentLevel.NOT_SET
    )
    # A higher consent asked for by an anonymous form post: applied only when the person confirms it
    # through the signed link emailed to them (double opt-in, crm_core.consent).
    pending_consent_level = models.PositiveSmallIntegerField(
        choices=ConsentLevel.choices, null=True, blank=True
    )
    pending_consent_requested_at = models.DateTimeField(null=True, blank=True)
    is_minor = models.BooleanField(default=False)
    guardian = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="wards", db_index=False
    )
    guardian_consent = models.BooleanField(default=False)
    # Custom field values by key (crm_core.custom_fields validates them); jsonb on PostgreSQL. The
    # database default serves writers that name their columns (the demo's COPY).
    custom = models.JSONField(default=dict, db_default={}, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            # Case-insensitive uniqueness; NULL (no email) is allowed many times.
            models.UniqueConstraint(Lower("email"), name="contact_email_ci_unique"),
            # Emails are stored normalised, whatever wrote them.
            models.CheckConstraint(
                condition=models.Q(email=Lower(Trim("email"))), name="contact_email_normalised"
            ),
        ]
        # Each index earns its writes (docs/architecture.md, "Indexes on contact and lead"): a query
        # of the product reads it. Plain columns get a Meta index, not `db_index`, which on
        # PostgreSQL adds a `_like` twin that only LIKE 'prefix%' would read (nothing does).
        # Also read: the primary key, contact_email_ci_unique (every email lookup, see
        # NormalizedEmailField) and the search's trigram indexes (migration 0006).
        indexes = [
            # The sales view (marketing_only = false), newest first; also any marketing_only filter.
            models.Index(fields=["marketing_only", "id"], name="contact_view_idx"),
            # The contact list's and the API's filters, and segments' job-role conditions.
            models.Index(fields=["job_role"], name="contact_job_role_idx"),
            models.Index(fields=["country"], name="contact_country_idx"),
            # The (last_name, id) orderings of the contact list, the account page and the API.
            models.Index(fields=["last_name"], name="contact_last_name_idx"),
            # Deleting a contact clears its wards' guardian: almost every contact has none.
            models.Index(
                fields=["guardian"], name="contact_guardian_idx", condition=models.Q(guardian__isnull=False)
            ),
        ]

    def __str__(self) -> str:
        name = f"{self.first_name} {self.last_name}".strip()
        return name or self.email or f"Contact {self.pk}"
