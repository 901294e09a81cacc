"""The create-lead step: a lead for each member from its contact (crm_core's `lead_create`)."""

from crm_core.models import LeadSource
from crm_core.services import lead_create

from ..batch import advance


def create_lead(step, members, batch):
    contacts = batch.contacts()
    results = {}
    for e in members:
        contact = contacts[e.contact_id]
        lead = lead_create(
            topic=step.config["topic"],
            first_name=contact.first_name,
            last_name=contact.last_name,
            email=contact.email,
            company_name=contact.parent_account.name if contact.parent_account else "",
            job_title=contact.job_title,
            job_role=contact.job_role,
            parent_contact=contact,
            parent_account=contact.parent_account,
            owner_id=contact.owner_id,
            source=LeadSource.JOURNEY,
        )
        results[e.pk] = advance(detail=f"lead {lead.pk}")
    return results
