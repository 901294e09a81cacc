"""Activities: the notes, calls, meetings and emails a rep logs on a record."""

from __future__ import annotations

from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from crm_core import access
from crm_core.models import Account, Contact, Lead, Opportunity

from ..models import Activity, ActivityKind
from .records import own_fields_checked, record_links

ACTIVITY_FIELDS = (
    "kind",
    "subject",
    "body",
    "outcome",
    "duration_minutes",
    "meeting_at",
    "attendees",
    "occurred_at",
)


def _activity_rules(activity: Activity) -> None:
    errors = {}
    if activity.kind != ActivityKind.CALL and activity.outcome:
        errors["outcome"] = ["Only calls have an outcome."]
    if (
        activity.kind not in (ActivityKind.CALL, ActivityKind.MEETING)
        and activity.duration_minutes is not None
    ):
        errors["duration_minutes"] = ["Only calls and meetings have a duration."]
    if activity.kind != ActivityKind.MEETING and (activity.meeting_at or activity.attendees):
        errors["meeting_at" if activity.meeting_at else "attendees"] = [
            "Only meetings have a time and attendees."
        ]
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def activity_log(
    *,
    actor,
    kind: str,
    subject: str,
    body: str = "",
    outcome: str = "",
    duration_minutes: int | None = None,
    meeting_at: datetime | None = None,
    attendees: str = "",
    occurred_at: datetime | None = None,
    contact: Contact | None = None,
    lead: Lead | None = None,
    account: Account | None = None,
    opportunity: Opportunity | None = None,
) -> Activity:
    """Log a note, call, meeting or email on one record. A meeting happens at `meeting_at`."""
    access.check_activity_log(actor)
    if occurred_at is None:
        occurred_at = meeting_at if kind == ActivityKind.MEETING and meeting_at else timezone.now()
    activity = Activity(
        kind=kind,
        subject=subject,
        body=body,
        outcome=outcome,
        duration_minutes=duration_minutes,
        meeting_at=meeting_at,
        attendees=attendees,
        occurred_at=occurred_at,
        author=actor,
        **record_links(contact=contact, lead=lead, account=account, opportunity=opportunity),
    )
    own_fields_checked(activity)
    _activity_rules(activity)
    activity.save()
    return activity


@transaction.atomic
def activity_update(*, actor, activity: Activity, **fields) -> Activity:
    """Change an activity's own fields (not the record it is about)."""
    activity = Activity.objects.select_for_update().get(pk=activity.pk)
    access.check_activity_edit(actor, activity)
    unknown = set(fields) - set(ACTIVITY_FIELDS)
    if unknown:
        raise ValidationError({name: ["Cannot be changed."] for name in sorted(unknown)})
    for name, value in fields.items():
        setattr(activity, name, value)
    own_fields_checked(activity)
    _activity_rules(activity)
    activity.save(update_fields=[*fields] or None)
    return activity


@transaction.atomic
def activity_delete(*, actor, activity: Activity) -> None:
    access.check_activity_edit(actor, activity)
    Activity.objects.filter(pk=activity.pk).delete()
