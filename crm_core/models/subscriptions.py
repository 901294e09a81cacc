"""Subscription lists, contacts' memberships of them, and the audit trail of consent changes."""

from django.conf import settings
from django.db import models

from .base import TimestampedModel
from .people import Contact


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


class ConsentSource(models.TextChoices):
    SUBSCRIPTION_CENTER = "subscription_center", "Subscription center"
    LANDING_PAGE = "landing_page", "Landing page"
    UNSUBSCRIBE_LINK = "unsubscribe_link", "Unsubscribe link"
    ADMIN = "admin", "Admin"
    API = "api", "API"
    JOURNEY = "journey", "Journey"
    IMPORT = "import", "Import"
    EMAIL_CONFIRMATION = "email_confirmation", "Confirmed by email (double opt-in)"
    MERGE = "merge", "Contact merge"


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
