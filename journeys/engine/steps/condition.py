"""The if/then step on a contact condition (a segment-style tree): one query for the group."""

from crm_core.models import Contact

from ... import adapters
from ...models import ExecutionOutcome
from ..batch import advance


def if_condition(step, members, batch):
    q = adapters.compile_contact_condition(step.config["condition"])
    matched = set(
        Contact.objects.filter(q, id__in=[e.contact_id for e in members]).values_list("id", flat=True)
    )
    return {
        e.pk: advance(ExecutionOutcome.YES)
        if e.contact_id in matched
        else advance(ExecutionOutcome.NO, "else")
        for e in members
    }
