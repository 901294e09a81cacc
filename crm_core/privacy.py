"""Data protection: export everything held about a contact, and erase a contact. Both are audited.

Export walks every relation that points at Contact (any app's, so models added
later are included without touching this file), adds orphan leads that carry
the contact's email and whatever apps add through an optional
`<app>/privacy_hooks.py` (`export_contact(contact) -> dict`,
`erase_contact(contact, email) -> dict`), found through Django's app registry (every installed
app that has one, in INSTALLED_APPS order), so crm_core needs to know no app above it.

Erase keeps the contact row (opportunities, statistics and the audit trail
still point at it) but removes its personal fields, deletes its interactions,
list memberships and event registrations, anonymises its leads (and orphan
leads with its email), clears the IP addresses of its consent trail, releases
its wards, switches every kind of email and tracking off, and records it all
in the AuditLog without the personal data itself.
"""

from __future__ import annotations

import json
from types import ModuleType

from django.core import serializers
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from . import consent, events
from .apphooks import app_hook_modules
from .models import (
    AuditLog,
    ConsentChange,
    ConsentLevel,
    ConsentSource,
    Contact,
    EventRegistration,
    Lead,
    ListMembership,
    MergedContact,
)

ACTION_EXPORT = "contact.export"
ACTION_ERASE = "contact.erase"

ERASED_FIELDS = {
    "first_name": "",
    "last_name": "",
    "email": None,
    "phone": "",
    "job_title": "",
    "job_role": "",
    "city": "",
    "country": "",
    "guardian": None,
    "is_minor": False,
    "custom": {},  # custom field values may be personal data
}
ERASED_PREFERENCES = {
    "do_not_email": True,
    "do_not_bulk_email": True,
    "track_email": False,
    "allow_prefill": False,
    "consent_level": ConsentLevel.NOT_SET,
    "guardian_consent": False,
}
LEAD_PERSONAL_FIELDS = {"first_name": "", "last_name": "", "email": None, "job_title": "", "custom": {}}


def _rows(queryset) -> list[dict]:
    return [
        {"id": obj["pk"], **obj["fields"]} for obj in serializers.serialize("python", queryset.order_by("pk"))
    ]


def _orphan_leads(email: str | None):
    if not email:
        return Lead.objects.none()
    return Lead.objects.filter(email=email, parent_contact__isnull=True)


PRIVACY_HOOKS_MODULE = "privacy_hooks"


def _hooks() -> list[ModuleType]:
    """The `privacy_hooks` module of every installed app that has one, in INSTALLED_APPS order."""
    return app_hook_modules(PRIVACY_HOOKS_MODULE)


def contact_export_data(*, contact: Contact) -> dict:
    """Everything held about `contact`, as JSON-ready data (no audit; see contact_export)."""
    related = {}
    for rel in Contact._meta.related_objects:
        model = rel.related_model
        label = f"{model._meta.app_label}.{model._meta.model_name}"
        if rel.field.name == "guardian":
            label = "crm_core.ward"
        queryset = model._default_manager.filter(**{rel.field.name: contact})
        related[label] = _rows(queryset)
    related["crm_core.orphan_lead_with_same_email"] = _rows(_orphan_leads(contact.email))
    related["crm_core.mergedcontact"] = _rows(MergedContact.objects.filter(survivor_id=contact.pk))
    related["crm_core.auditlog"] = _rows(
        AuditLog.objects.filter(object_type="contact", object_id=str(contact.pk))
    )
    for hook in _hooks():
        related.update(hook.export_contact(contact))
    data = {
        "exported_at": timezone.now(),
        "contact": _rows(Contact.objects.filter(pk=contact.pk))[0],
        "account": _rows(type(contact.parent_account).objects.filter(pk=contact.parent_account_id))
        if contact.parent_account_id
        else None,
        "related": related,
    }
    # Round-trip through JSON so callers get plain types (dates as ISO strings, decimals as strings).
    return json.loads(json.dumps(data, cls=DjangoJSONEncoder))


@transaction.atomic
def contact_export(*, contact: Contact, actor=None) -> dict:
    """Export `contact` and record who did it."""
    data = contact_export_data(contact=contact)
    AuditLog.objects.create(
        actor=actor,
        action=ACTION_EXPORT,
        object_type="contact",
        object_id=str(contact.pk),
        details={"rows": {label: len(rows) for label, rows in data["related"].items()}},
    )
    return data


@transaction.atomic
def contact_erase(*, contact: Contact, actor=None) -> dict:
    """Erase `contact`'s personal data (see the module docstring); returns what was done, also audited."""
    contact = Contact.objects.select_for_update().get(pk=contact.pk)
    email = contact.email
    now = timezone.now()
    done: dict[str, int] = {}

    done["interactions_deleted"] = contact.interactions.all().delete()[0]
    done["list_memberships_deleted"] = ListMembership.objects.filter(contact=contact).delete()[0]
    done["event_registrations_deleted"] = EventRegistration.objects.filter(contact=contact).delete()[0]
    leads = Lead.objects.filter(Q(parent_contact=contact) | Q(pk__in=_orphan_leads(email).values("pk")))
    lead_ids = list(leads.values_list("pk", flat=True))
    done["leads_anonymised"] = Lead.objects.filter(pk__in=lead_ids).update(
        **LEAD_PERSONAL_FIELDS, updated_at=now
    )
    # Addresses of contacts merged into this one are personal data too; the merged ids stay.
    done["merged_emails_erased"] = MergedContact.objects.filter(
        survivor_id=contact.pk, email__isnull=False
    ).update(email=None)
    done["consent_changes_ip_cleared"] = ConsentChange.objects.filter(
        contact=contact, ip_address__isnull=False
    ).update(ip_address=None)

    # A guardian's consent cannot outlive the guardian's record: the wards lose it, on the record.
    wards = Contact.objects.filter(guardian=contact).order_by("pk").select_for_update()
    ward_ids = list(wards.values_list("pk", flat=True))
    ConsentChange.objects.bulk_create(
        ConsentChange(
            contact_id=ward_id,
            field="guardian_consent",
            old_value="True",
            new_value="False",
            source=ConsentSource.ADMIN,
            actor=actor,
            changed_at=now,
        )
        for ward_id in wards.filter(guardian_consent=True).values_list("pk", flat=True)
    )
    done["wards_released"] = wards.update(guardian=None, guardian_consent=False, updated_at=now)

    for hook in _hooks():
        done.update(hook.erase_contact(contact, email))

    consent.contact_preferences_update(
        contact=contact, changes=ERASED_PREFERENCES, source=ConsentSource.ADMIN, actor=actor
    )
    Contact.objects.filter(pk=contact.pk).update(**ERASED_FIELDS, updated_at=now)
    AuditLog.objects.create(
        actor=actor, action=ACTION_ERASE, object_type="contact", object_id=str(contact.pk), details=done
    )
    _announce_erasure(contact_ids=[contact.pk, *ward_ids], lead_ids=lead_ids)
    return done


def _announce_erasure(*, contact_ids: list[int], lead_ids: list[int]) -> None:
    touched = {"contact_ids": contact_ids[:1]}
    events.records_changed_on_commit(
        entity=events.CONTACT, action=events.UPDATED, ids=contact_ids, contact_ids=contact_ids
    )
    events.records_changed_on_commit(entity=events.LEAD, action=events.UPDATED, ids=lead_ids, **touched)
    for entity in (events.INTERACTION, events.SUBSCRIPTION, events.REGISTRATION):
        events.records_changed_on_commit(entity=entity, action=events.DELETED, ids=None, **touched)
