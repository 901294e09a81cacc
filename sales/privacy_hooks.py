"""What the sales app holds about a contact, for crm_core.privacy (export and erase).

Activities and tasks reach the export through their `contact` relation (every one about the contact
or its leads carries it). Erasure deletes the activities logged about the person (notes, calls,
meetings and emails hold what was said) and blanks the descriptions of their tasks; the tasks stay
as the record that work was done."""

from .models import Activity, Task


def export_contact(contact) -> dict:
    return {}


def erase_contact(contact, email: str | None) -> dict:
    deleted, _ = Activity.objects.filter(contact=contact).delete()
    blanked = Task.objects.filter(contact=contact).exclude(description="").update(description="")
    return {"activities_deleted": deleted, "task_descriptions_erased": blanked}
