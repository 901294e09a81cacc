"""The update-field step: set one contact field of the group in one write (consent fields only
ever withdrawn)."""

from ... import adapters
from ..batch import advance

# Consent preferences an update-field step may set, each only to the value that withdraws it (e.g. a
# sunset policy for the unengaged): giving consent is the person's own act, never a workflow's.
CONSENT_WITHDRAWALS = {
    "do_not_bulk_email": True,
    "do_not_email": True,
    "allow_prefill": False,
    "track_email": False,
}
UPDATABLE_CONTACT_FIELDS = ("job_title", "job_role", "city", "country", "phone", *CONSENT_WITHDRAWALS)


def update_field(step, members, batch):
    field, value = step.config["field"], step.config.get("value")
    adapters.contacts_field_set(contact_ids=[e.contact_id for e in members], field=field, value=value)
    return {e.pk: advance(detail=f"{field}={value}") for e in members}
