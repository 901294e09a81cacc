"""The create-task step: one sales task per member for the contact's owner (else its account's),
through the adapter (sales' set-based `tasks_create`)."""

from datetime import timedelta

from ... import adapters
from ..batch import advance


def create_task(step, members, batch):
    contacts = batch.contacts()
    due_days = step.config.get("due_in_days")
    due_at = batch.now + timedelta(days=due_days) if due_days is not None else None
    owner_contacts = []
    for e in members:
        contact = contacts[e.contact_id]
        owner_id = contact.owner_id or (contact.parent_account.owner_id if contact.parent_account else None)
        owner_contacts.append((owner_id, contact.pk))
    adapters.sales_tasks_create(
        title=step.config["title"],
        description=step.config.get("description", ""),
        due_at=due_at,
        journey_id=step.journey_id,
        owner_contacts=owner_contacts,
        now=batch.now,
    )
    return {e.pk: advance() for e in members}
