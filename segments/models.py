"""Segments: saved definitions over contacts and their stored membership."""

from django.conf import settings
from django.db import models

from crm_core.models import Contact


class SegmentKind(models.TextChoices):
    DYNAMIC = "dynamic", "Dynamic (kept current from its definition)"
    STATIC = "static", "Static (a fixed list)"


class SegmentStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    LIVE = "live", "Live"
    STOPPED = "stopped", "Stopped"


class Segment(models.Model):
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    definition = models.JSONField(
        default=dict, blank=True, help_text="the tree (see the segment-query format)"
    )
    kind = models.CharField(max_length=16, choices=SegmentKind.choices, default=SegmentKind.DYNAMIC)
    status = models.CharField(max_length=16, choices=SegmentStatus.choices, default=SegmentStatus.DRAFT)
    member_count = models.PositiveIntegerField(default=0)
    refreshed_at = models.DateTimeField(null=True, blank=True)
    last_refresh_seconds = models.FloatField(null=True, blank=True)
    last_refresh_added = models.PositiveIntegerField(default=0)
    last_refresh_removed = models.PositiveIntegerField(default=0)
    # Bumped on every change of the definition; a refresh records the version it computed.
    version = models.PositiveIntegerField(default=1)
    refreshed_version = models.PositiveIntegerField(default=0)
    # Entities the definition reads (contact, lead, account, ...): changes to them trigger a refresh.
    entities = models.JSONField(default=list, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class SegmentMembership(models.Model):
    """The current members of a segment."""

    segment = models.ForeignKey(Segment, on_delete=models.CASCADE, related_name="memberships", db_index=False)
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="segment_memberships")
    added_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["segment", "contact"], name="segment_membership_unique")
        ]

    def __str__(self) -> str:
        return f"{self.contact_id} in {self.segment_id}"


class MembershipChange(models.TextChoices):
    JOINED = "joined", "Joined"
    LEFT = "left", "Left"


class SegmentMembershipEvent(models.Model):
    """Who joined or left a segment, and when: the sales timeline's "joined segment X" lines. (Journeys
    enrol newcomers from the membership's `added_at`.)"""

    # The (segment, at) index below serves the foreign key (a deleted segment's events) too: no
    # single-column index of its own, one index less to write per logged join or leave.
    segment = models.ForeignKey(
        Segment, on_delete=models.CASCADE, related_name="membership_events", db_index=False
    )
    contact_id = models.BigIntegerField()
    change = models.CharField(max_length=8, choices=MembershipChange.choices)
    at = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index(fields=["segment", "at"], name="segment_event_at_idx"),
            # A contact's joins and leaves in time order (the sales timeline).
            models.Index(fields=["contact_id", "at", "id"], name="segment_event_contact_at"),
        ]

    def __str__(self) -> str:
        return f"{self.contact_id} {self.change} {self.segment_id}"
