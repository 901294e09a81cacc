"""The CRM records marketing and sales share: accounts, contacts, leads,
opportunities, interactions, subscription lists and events."""

from django.conf import settings
from django.db import models
from django.db.models import F
from django.db.models.functions import Lower, Trim, Upper

from .emails import NormalizedEmailField


class TimestampedModel(models.Model):
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class RecordModel(TimestampedModel):
    """A CRM record people keep: timestamps and who made and last changed it."""

    # Who made and who last changed the record through a service (NULL: the system or a workflow).
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
        editable=False,
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
        editable=False,
    )

    class Meta:
        abstract = True


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

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class Contact(RecordModel):
    """One person: the only record segments and journeys target."""

    first_name = models.CharField(max_length=100, blank=True)
    last_name = models.CharField(max_length=100, blank=True, db_index=True)
    email = NormalizedEmailField(null=True, blank=True)
    phone = models.CharField(max_length=40, blank=True)
    job_title = models.CharField(max_length=150, blank=True)
    job_role = models.CharField(max_length=32, choices=JobRole.choices, blank=True, db_index=True)
    country = models.CharField(max_length=64, blank=True, db_index=True)
    city = models.CharField(max_length=100, blank=True)
    parent_account = models.ForeignKey(
        Account, null=True, blank=True, on_delete=models.SET_NULL, related_name="contacts"
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="contacts"
    )
    marketing_only = models.BooleanField(
        default=False,
        db_index=True,
        help_text="Made for marketing (e.g. by the orphan-lead workflow); hidden from sales views.",
    )
    origin = models.CharField(max_length=32, choices=ContactOrigin.choices, default=ContactOrigin.MANUAL)

    # Contact preferences and data protection, as in Dynamics 365.
    do_not_bulk_email = models.BooleanField(default=False, db_index=True)
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
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="wards"
    )
    guardian_consent = models.BooleanField(default=False)

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
        indexes = [models.Index(fields=["marketing_only", "id"], name="contact_view_idx")]

    def __str__(self) -> str:
        name = f"{self.first_name} {self.last_name}".strip()
        return name or self.email or f"Contact {self.pk}"


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

    topic = models.CharField(max_length=200, db_index=True)
    first_name = models.CharField(max_length=100, blank=True)
    last_name = models.CharField(max_length=100, blank=True)
    email = NormalizedEmailField(null=True, blank=True, db_index=True)
    company_name = models.CharField(max_length=200, blank=True)
    job_title = models.CharField(max_length=150, blank=True)
    job_role = models.CharField(max_length=32, choices=JobRole.choices, blank=True)
    status = models.CharField(
        max_length=32, choices=LeadStatus.choices, default=LeadStatus.NEW, db_index=True
    )
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
    score = models.IntegerField(default=0, db_index=True)
    grade = models.CharField(max_length=8, blank=True)
    sales_ready = models.BooleanField(default=False, db_index=True)
    estimated_value = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
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
        indexes = [
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


class OpportunityStage(models.TextChoices):
    PROSPECTING = "prospecting", "Prospecting"
    QUALIFICATION = "qualification", "Qualification"
    PROPOSAL = "proposal", "Proposal"
    NEGOTIATION = "negotiation", "Negotiation"
    CLOSED = "closed", "Closed"


class OpportunityStatus(models.TextChoices):
    OPEN = "open", "Open"
    WON = "won", "Won"
    LOST = "lost", "Lost"


class Opportunity(RecordModel):
    name = models.CharField(max_length=200)
    account = models.ForeignKey(
        Account, null=True, blank=True, on_delete=models.SET_NULL, related_name="opportunities"
    )
    contact = models.ForeignKey(
        Contact, null=True, blank=True, on_delete=models.SET_NULL, related_name="opportunities"
    )
    originating_lead = models.ForeignKey(
        Lead, null=True, blank=True, on_delete=models.SET_NULL, related_name="opportunities"
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="opportunities",
    )
    stage = models.CharField(
        max_length=32, choices=OpportunityStage.choices, default=OpportunityStage.QUALIFICATION
    )
    status = models.CharField(
        max_length=16, choices=OpportunityStatus.choices, default=OpportunityStatus.OPEN, db_index=True
    )
    amount = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    close_date = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        verbose_name_plural = "opportunities"

    def __str__(self) -> str:
        return self.name


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


class SubscriptionList(TimestampedModel):
    name = models.CharField(max_length=200, unique=True)
    description = models.TextField(blank=True)
    is_public = models.BooleanField(default=True, help_text="Shown in the subscription center.")

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class SubscriptionStatus(models.TextChoices):
    SUBSCRIBED = "subscribed", "Subscribed"
    UNSUBSCRIBED = "unsubscribed", "Unsubscribed"


class ListMembership(models.Model):
    subscription_list = models.ForeignKey(
        SubscriptionList, on_delete=models.CASCADE, related_name="memberships"
    )
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="subscriptions")
    status = models.CharField(
        max_length=16,
        choices=SubscriptionStatus.choices,
        default=SubscriptionStatus.SUBSCRIBED,
        db_index=True,
    )
    subscribed_at = models.DateTimeField(null=True, blank=True)
    unsubscribed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["subscription_list", "contact"], name="list_membership_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.contact_id} {self.status} {self.subscription_list_id}"


class Event(TimestampedModel):
    name = models.CharField(max_length=200, db_index=True)
    starts_at = models.DateTimeField(null=True, blank=True)
    location = models.CharField(max_length=200, blank=True)

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


class ConsentSource(models.TextChoices):
    SUBSCRIPTION_CENTER = "subscription_center", "Subscription center"
    LANDING_PAGE = "landing_page", "Landing page"
    UNSUBSCRIBE_LINK = "unsubscribe_link", "Unsubscribe link"
    ADMIN = "admin", "Admin"
    API = "api", "API"
    JOURNEY = "journey", "Journey"
    IMPORT = "import", "Import"
    EMAIL_CONFIRMATION = "email_confirmation", "Confirmed by email (double opt-in)"


class ConsentChange(models.Model):
    """Audit trail of consent: one row per changed preference or list subscription."""

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="consent_changes")
    field = models.CharField(
        max_length=64, help_text="the preference changed, e.g. do_not_bulk_email, or 'list'"
    )
    subscription_list = models.ForeignKey(
        SubscriptionList, null=True, blank=True, on_delete=models.SET_NULL, related_name="consent_changes"
    )
    old_value = models.CharField(max_length=64, blank=True)
    new_value = models.CharField(max_length=64, blank=True)
    source = models.CharField(max_length=32, choices=ConsentSource.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    changed_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["-changed_at", "-id"]

    def __str__(self) -> str:
        return f"{self.contact_id} {self.field}: {self.old_value} -> {self.new_value}"


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
        Opportunity, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    changed_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["-changed_at", "-id"]
        indexes = [models.Index(fields=["lead", "changed_at"], name="lead_status_change_lead_at")]

    def __str__(self) -> str:
        return f"lead {self.lead_id}: {self.from_status} -> {self.to_status}"
