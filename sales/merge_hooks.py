"""What the sales app moves when two contacts merge (crm_core.services.merge finds this module): the
activities and tasks about the other contact (or its leads) now carry the survivor, so its timeline
shows them."""

from .models import Activity, Task


def merge_contacts(*, survivor, other, actor=None) -> dict:
    return {
        "activities": Activity.objects.filter(contact_id=other.pk).update(contact_id=survivor.pk),
        "tasks": Task.objects.filter(contact_id=other.pk).update(contact_id=survivor.pk),
    }
