"""The if/then step on an interaction since entry (opened or clicked an email of this journey, or
any interaction of a kind), waiting up to a time for it: until then the enrollment parks and is
looked at again every JOURNEYS_CONDITION_RECHECK_SECONDS (or at once when the tracking endpoints
record an interaction of its contact)."""

from datetime import timedelta

from crm_core.models import Interaction, InteractionKind

from ...models import ExecutionOutcome, OutboundEmail
from ..batch import advance, park
from ..conf import setting


def if_interaction(step, members, batch):
    matched = _matched(step, members)
    timeout = timedelta(seconds=int(step.config.get("wait_up_to_seconds") or 0))
    recheck = timedelta(seconds=setting("JOURNEYS_CONDITION_RECHECK_SECONDS", 300))
    results = {}
    for e in members:
        deadline = e.step_started_at + timeout
        if e.pk in matched:
            results[e.pk] = advance(ExecutionOutcome.YES)
        elif batch.now < deadline:
            results[e.pk] = park(min(deadline, batch.now + recheck))
        else:
            results[e.pk] = advance(ExecutionOutcome.NO, "else")
    return results


def _matched(step, members) -> set[int]:
    """The enrollments (ids) whose contact had the interaction during this entry."""
    config = step.config
    kind = config.get("kind", InteractionKind.EMAIL_OPEN)
    of_step = config.get("email_step")
    if of_step and kind in (InteractionKind.EMAIL_OPEN, InteractionKind.EMAIL_CLICK):
        # "opened/clicked the email of step X during this entry": the outbox row knows.
        marker = "first_opened_at" if kind == InteractionKind.EMAIL_OPEN else "first_clicked_at"
        rows = OutboundEmail.objects.filter(
            enrollment_id__in=[e.pk for e in members],
            step__journey_id=step.journey_id,
            step__key=of_step,
            **{f"{marker}__isnull": False},
        ).values_list("enrollment_id", "execution__entry_number")
        done = {(enrollment_id, entry) for enrollment_id, entry in rows}
        return {e.pk for e in members if (e.pk, e.entry_number) in done}
    entered = {e.contact_id: e.entered_at for e in members}
    rows = Interaction.objects.filter(
        kind=kind, contact_id__in=list(entered), occurred_at__gte=min(entered.values())
    ).values_list("contact_id", "occurred_at")
    matched_contacts = {cid for cid, at in rows if at >= entered[cid]}
    return {e.pk for e in members if e.contact_id in matched_contacts}
