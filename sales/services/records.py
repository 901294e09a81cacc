"""The record an activity or task is about, and the model checks both run before saving."""

from __future__ import annotations

from django.core.exceptions import ValidationError

from crm_core.models import Contact

RECORD_FIELDS = ("contact", "lead", "account", "opportunity")


def record_links(*, contact=None, lead=None, account=None, opportunity=None) -> dict:
    """The record an item is about (exactly one) plus the contact and account it belongs to."""
    given = dict(zip(RECORD_FIELDS, (contact, lead, account, opportunity), strict=True))
    named = [name for name, value in given.items() if value is not None]
    if len(named) != 1:
        raise ValidationError({"record": ["Name exactly one of contact, lead, account or opportunity."]})
    if contact is not None:
        return {"contact_id": contact.pk, "account_id": contact.parent_account_id}
    if lead is not None:
        account_id = lead.parent_account_id
        if account_id is None and lead.parent_contact_id:
            account_id = (
                Contact.objects.filter(pk=lead.parent_contact_id)
                .values_list("parent_account_id", flat=True)
                .first()
            )
        return {"lead_id": lead.pk, "contact_id": lead.parent_contact_id, "account_id": account_id}
    if opportunity is not None:
        return {
            "opportunity_id": opportunity.pk,
            "contact_id": opportunity.contact_id,
            "account_id": opportunity.account_id,
            "lead_id": opportunity.originating_lead_id,
        }
    return {"account_id": account.pk}


def own_fields_checked(instance) -> None:
    """`full_clean` of the item's own fields (the record and the people are set by the services)."""
    try:
        instance.full_clean(exclude=["contact", "lead", "account", "opportunity", "author", "owner"])
    except ValidationError as error:
        raise ValidationError(error.message_dict) from error
