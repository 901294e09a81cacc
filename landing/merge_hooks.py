"""What the landing app moves when two contacts merge (crm_core.services.merge finds this module):
the other contact's form submissions now belong to the survivor."""

from .models import FormSubmission


def merge_contacts(*, survivor, other, actor=None) -> dict:
    return {
        "form_submissions": FormSubmission.objects.filter(contact_id=other.pk).update(contact_id=survivor.pk)
    }
