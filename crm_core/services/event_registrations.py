"""Events and their registrations: crm_core's only writer of both tables.

Registering a contact writes an `event_registration` interaction and marking a registration
attended an `event_attendance` interaction, in the same transaction, so both score (a scoring rule's
`event` filter matches the event's name) and segment like any other interaction. Both are
idempotent: registering twice, or marking attended twice, writes no second row and no second
interaction. Every write announces itself with `crm_core.events.records_changed_on_commit`.
"""

from __future__ import annotations

from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from .. import events
from ..models import Contact, Event, EventRegistration, InteractionKind
from .records import _checked, interaction_record

EVENT_FIELDS = frozenset({"name", "starts_at", "location", "capacity"})
REGISTRATION_FIELDS = frozenset({"event", "contact", "registered_at", "attended"})

_atomic = transaction.atomic(savepoint=False)


def _registered_contacts(event: Event) -> list[int]:
    return list(event.registrations.values_list("contact_id", flat=True))


@_atomic
def event_create(*, actor=None, **values) -> Event:
    event = Event(**_checked(values, EVENT_FIELDS, "event"))
    event.full_clean()
    event.save()
    return event


@_atomic
def event_update(*, event: Event, actor=None, **values) -> Event:
    """Change an event; its registrations' contacts are announced (segments read the event's name)."""
    values = _checked(values, EVENT_FIELDS, "event")
    changed = [name for name, value in values.items() if getattr(event, name) != value]
    for name, value in values.items():
        setattr(event, name, value)
    event.full_clean()
    event.save()
    if changed:
        events.records_changed_on_commit(
            entity=events.REGISTRATION,
            action=events.UPDATED,
            ids=list(event.registrations.values_list("pk", flat=True)),
            contact_ids=_registered_contacts(event),
            fields=["event"],
        )
    return event


@_atomic
def event_delete(*, event: Event, actor=None) -> None:
    """Delete an event with its registrations (the interactions stay: they are history)."""
    registrations = list(event.registrations.values_list("pk", "contact_id"))
    event.delete()
    events.records_changed_on_commit(
        entity=events.REGISTRATION,
        action=events.DELETED,
        ids=[pk for pk, _ in registrations],
        contact_ids=[contact_id for _, contact_id in registrations],
    )


def _interaction(registration: EventRegistration, *, kind: str, action: str, at: datetime) -> None:
    event = registration.event
    interaction_record(
        contact_id=registration.contact_id,
        kind=kind,
        occurred_at=at,
        properties={
            "event": event.name,
            "event_id": event.pk,
            "registration_id": registration.pk,
            "action": action,
        },
    )


@_atomic
def event_register(
    *, event: Event, contact: Contact, registered_at: datetime | None = None, actor=None
) -> tuple[EventRegistration, bool]:
    """Register a contact for an event; (registration, created). Already registered: the stored
    registration, unchanged, and no interaction (a lost race reads the winner's row)."""
    found = EventRegistration.objects.filter(event=event, contact=contact).first()
    if found is not None:
        return found, False
    registration = EventRegistration(
        event=event, contact=contact, registered_at=registered_at or timezone.now()
    )
    try:
        with transaction.atomic():
            registration.save()
    except IntegrityError:
        return EventRegistration.objects.get(event=event, contact=contact), False
    _interaction(
        registration,
        kind=InteractionKind.EVENT_REGISTRATION,
        action="registered",
        at=registration.registered_at,
    )
    events.records_changed_on_commit(
        entity=events.REGISTRATION,
        action=events.CREATED,
        ids=[registration.pk],
        contact_ids=[contact.pk],
    )
    return registration, True


@_atomic
def registration_attend(
    *, registration: EventRegistration, attended_at: datetime | None = None, actor=None
) -> EventRegistration:
    """Mark a registration attended and record the attendance; a no-op if it already is."""
    marked = EventRegistration.objects.filter(pk=registration.pk, attended=False).update(attended=True)
    registration.attended = True
    if marked:
        _interaction(
            registration,
            kind=InteractionKind.EVENT_ATTENDANCE,
            action="attended",
            at=attended_at or timezone.now(),
        )
        events.records_changed_on_commit(
            entity=events.REGISTRATION,
            action=events.UPDATED,
            ids=[registration.pk],
            contact_ids=[registration.contact_id],
            fields=["attended"],
        )
    return registration


@_atomic
def registration_delete(*, registration: EventRegistration, actor=None) -> None:
    pk, contact_id = registration.pk, registration.contact_id
    registration.delete()
    events.records_changed_on_commit(
        entity=events.REGISTRATION, action=events.DELETED, ids=[pk], contact_ids=[contact_id]
    )


@_atomic
def registration_save(
    *, registration: EventRegistration | None = None, actor=None, **values
) -> EventRegistration:
    """Register a contact for an event, or change a registration (the admin's form): a new
    registration and a change to attended go through `event_register` and `registration_attend`."""
    values = _checked(values, REGISTRATION_FIELDS, "registration")
    attended = values.pop("attended", None)
    if registration is None:
        registration, _ = event_register(
            event=values["event"],
            contact=values["contact"],
            registered_at=values.get("registered_at"),
            actor=actor,
        )
    elif values:
        before = registration.contact_id
        for name, value in values.items():
            setattr(registration, name, value)
        registration.save()
        events.records_changed_on_commit(
            entity=events.REGISTRATION,
            action=events.UPDATED,
            ids=[registration.pk],
            contact_ids=[before, registration.contact_id],
            fields=list(values),
        )
    if attended and not registration.attended:
        registration = registration_attend(registration=registration, actor=actor)
    elif attended is False and registration.attended:
        EventRegistration.objects.filter(pk=registration.pk).update(attended=False)
        registration.attended = False
        events.records_changed_on_commit(
            entity=events.REGISTRATION,
            action=events.UPDATED,
            ids=[registration.pk],
            contact_ids=[registration.contact_id],
            fields=["attended"],
        )
    return registration
