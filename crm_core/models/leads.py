"""Leads (one person's interest in one topic) and the trail of their lifecycle moves."""

from django.conf import settings
from django.db import models
from django.db.models import F
from django.db.models.functions import Lower, Upper

from ..addresses import NormalizedEmailField
from .base import RecordModel
from .people import Account, Contact, JobRole


class LeadStatus(models.TextChoices):
    NEW = "new", "New"
    MARKETING_QUALIFIED = "marketing_qualified", "Marketing qualified"
    SALES_ACCEPTED = "sales_accepted", "Sales accepted"
    QUALIFIED = "qualified", "Qualified"
    DISQUALIFIED = "disqualified", "Disqualified"
    NURTURE = "nurture", "Nurture"


class LeadSource(models.TextChoices):
    WEB = "web", "Web"
    EVENT = "event", "Event"
    REFERRAL = "referral", "Referral"
    PARTNER = "partner", "Partner"
    COLD_CALL = "cold_call", "Cold call"
    IMPORT = "import", "Import"
    LANDING_PAGE = "landing_page", "Landing page"
    JOURNEY = "journey", "Journey"
    API = "api", "API"
    OTHER = "other", "Other"


class IdentityStatus(models.TextChoices):
    """Whether a lead's person is known. A landing page whose matching rule refused the contact with
    the submitted email holds the lead as a conflict for a marketer to link or dismiss."""

    NONE = "", "No conflict"
    CONFLICT = "conflict", "Identity conflict"
    LINKED = "linked", "Linked after review"
    DISMISSED = "dismissed", "Dismissed after review"


class Lead(RecordModel):
    """One person's expressed interest in one topic (product, offer or event)."""

    topic = models.CharField(max_length=200)
    first_name = models.CharField(max_length=100, blank=True)
    last_name = models.CharField(max_length=100, blank=True)
    email = NormalizedEmailField(null=True, blank=True)
    company_name = models.CharField(max_length=200, blank=True)
    job_title = models.CharField(max_length=150, blank=True)
    job_role = models.CharField(max_length=32, choices=JobRole.choices, blank=True)
    status = models.CharField(max_length=32, choices=LeadStatus.choices, default=LeadStatus.NEW)
    source = models.CharField(max_length=32, choices=LeadSource.choices, default=LeadSource.OTHER)
    # The lead_parent_contact relationship (N:1); NULL for an orphan lead.
    parent_contact = models.ForeignKey(
        Contact,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="leads",
        db_column="parentcontactid",
        verbose_name="parent contact",
    )
    parent_account = models.ForeignKey(
        Account, null=True, blank=True, on_delete=models.SET_NULL, related_name="leads"
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="leads"
    )
    # Not indexed, so that copying scores onto leads (crm_core.services.scores) is a HOT update.
    score = models.IntegerField(default=0)
    grade = models.CharField(max_length=8, blank=True)
    sales_ready = models.BooleanField(default=False)
    estimated_value = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    # Custom field values by key (crm_core.custom_fields validates them); jsonb on PostgreSQL. The
    # database default serves writers that name their columns (the demo's COPY).
    custom = models.JSONField(default=dict, db_default={}, blank=True)
    # Identity review: the orphan-lead workflow leaves a lead in conflict (or dismissed) alone.
    identity_status = models.CharField(
        max_length=16,
        choices=IdentityStatus.choices,
        default=IdentityStatus.NONE,
        db_default=IdentityStatus.NONE,
        blank=True,
    )
    identity_conflict_contact = models.ForeignKey(
        Contact,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
        help_text="the known contact whose email the submission gave but whose other details did not match",
    )

    class Meta:
        ordering = ["id"]
        # Each index earns its writes (docs/architecture.md, "Indexes on contact and lead"). The
        # table keeps 40% of each page free (fillfactor 60, migration 0012) so that updates which
        # change no indexed column, above all the score copy, are HOT: no column of `score`,
        # `grade` or `updated_at` may be indexed without giving that up.
        indexes = [
            # The API's `?topic=` filter and `?ordering=topic`.
            models.Index(fields=["topic"], name="lead_topic_idx"),
            # A rep's accepted leads (owner + status, a BitmapAnd) and segments' status conditions.
            models.Index(fields=["status"], name="lead_status_idx"),
            # Email lookups compare lower(email) (NormalizedEmailField): privacy, the API filter.
            models.Index(Lower("email"), name="lead_email_lower_idx"),
            # "Has a sales-ready lead" per contact: the contact list's column and filter, journey
            # exits. Only the sales-ready leads are in it.
            models.Index(
                fields=["parent_contact"],
                name="lead_sales_ready_contact_idx",
                condition=models.Q(sales_ready=True),
            ),
            # Deleting a contact clears the leads held in conflict with it (few rows).
            models.Index(
                fields=["identity_conflict_contact"],
                name="lead_conflict_contact_idx",
                condition=models.Q(identity_conflict_contact__isnull=False),
            ),
            # The identity review list (few rows).
            models.Index(
                fields=["id"],
                name="lead_identity_conflict_idx",
                condition=models.Q(identity_status="conflict"),
            ),
            # Segments compare topics case-insensitively (UPPER(topic) = UPPER(...)).
            models.Index(Upper("topic"), name="lead_topic_upper_idx"),
            # Orphan leads are found by this partial index, whatever the table size.
            models.Index(
                fields=["id"], name="lead_orphan_idx", condition=models.Q(parent_contact__isnull=True)
            ),
            # A rep's queue: their sales-ready leads waiting for them, newest first (0.1 ms instead of
            # 640 ms for a rep with 21,000 of them at 1M contacts).
            models.Index(
                "owner",
                F("created_at").desc(),
                F("id").desc(),
                name="lead_queue_idx",
                condition=models.Q(
                    sales_ready=True, status__in=[LeadStatus.NEW, LeadStatus.MARKETING_QUALIFIED]
                ),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.topic} ({self.email or 'no email'})"


class LeadStatusChange(models.Model):
    """One lifecycle transition of a lead: from which status to which, by whom, when."""

    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="status_changes")
    from_status = models.CharField(max_length=32, choices=LeadStatus.choices)
    to_status = models.CharField(max_length=32, choices=LeadStatus.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="lead_status_changes",
    )
    reason = models.TextField(blank=True)
    opportunity = models.ForeignKey(
        "crm_core.Opportunity", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    changed_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["-changed_at", "-id"]
        indexes = [models.Index(fields=["lead", "changed_at"], name="lead_status_change_lead_at")]

    def __str__(self) -> str:
        return f"lead {self.lead_id}: {self.from_status} -> {self.to_status}"
