"""A rep's own settings: which notifications also come by email, and the queue's last visit."""

from __future__ import annotations

from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from ..models import UserSettings


def queue_visit_record(*, actor, now: datetime | None = None) -> datetime | None:
    """Record that the actor opened their queue now; returns the previous visit (None the first time).
    Two statements (a read and an update; an insert the first time); two tabs racing both get an
    earlier visit, which is harmless."""
    now = now or timezone.now()
    mine = UserSettings.objects.filter(user=actor)
    previous = mine.values_list("queue_seen_at", flat=True).first()
    if not mine.update(queue_seen_at=now):
        UserSettings.objects.bulk_create([UserSettings(user=actor, queue_seen_at=now)], ignore_conflicts=True)
    return previous


@transaction.atomic
def user_settings_update(*, actor, **fields) -> UserSettings:
    row, _ = UserSettings.objects.select_for_update().get_or_create(user=actor)
    for name, value in fields.items():
        if not name.startswith("email_"):
            raise ValidationError({name: ["Cannot be changed."]})
        setattr(row, name, bool(value))
    row.save()
    return row
