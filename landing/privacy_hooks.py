"""What the landing app holds about a contact, for crm_core.privacy (export and erase)."""

from django.core import serializers
from django.db.models import Q, TextField
from django.db.models.functions import Cast

from .models import FormSubmission


def _submissions(contact, email: str | None):
    """Submissions linked to the contact, or naming its email anywhere in the raw payload."""
    condition = Q(contact=contact)
    if email:
        # Rare, admin-only work: a scan of the payload text is acceptable here.
        condition |= Q(pk__in=FormSubmission.objects.annotate(text=Cast("payload", TextField()))
                       .filter(text__icontains=email).values("pk"))  # fmt: skip
    return FormSubmission.objects.filter(condition).order_by("pk")


def export_contact(contact) -> dict:
    rows = serializers.serialize("python", _submissions(contact, contact.email))
    return {"landing.formsubmission": [{"id": row["pk"], **row["fields"]} for row in rows]}


def erase_contact(contact, email: str | None) -> dict:
    erased = _submissions(contact, email).update(payload={}, ip_address=None, user_agent="", errors={})
    return {"form_submissions_erased": erased}
