"""The send-email step: where a journey email starts, and how it reaches the contact.

1. Here, inside the worker's batch transaction (`engine/runner.py`): consent is checked for the
   step's group at once (`adapters.marketing_email_block_reasons`: email consent, the journey's
   minimum level and subscription list). A blocked contact's execution is `skipped_consent` with
   the reason; everyone else's is `email_queued` with `send=True`.
2. The runner writes one outbox row per queued execution in that same transaction
   (`engine/outbox.py`, `queue_emails`), already claimed by the task's sender (status `sending`).
3. After the commit the same task sends them (`engine/sending.py`, `send_claimed`): consent is
   decided again, each step's template is prepared once and rendered per contact
   (`engine/messages.py`), each message goes to the email backend and is marked sent right after.
4. The claim is finished (`engine/outbox.py`, `finalize_claim`): marked rows become `sent` with an
   `email_sent` interaction each; the rest go back to `pending`, and the tick's sweep sends them.
"""

from ... import adapters
from ...models import ExecutionOutcome
from ..batch import advance


def send_email(step, members, batch):
    journey = members[0].journey
    blocked = adapters.marketing_email_block_reasons(
        [e.contact_id for e in members],
        min_consent_level=journey.min_consent_level,
        subscription_list_id=journey.subscription_list_id,
    )
    queued = advance(ExecutionOutcome.EMAIL_QUEUED, send=True)  # outcomes are only read: share one
    return {
        e.pk: advance(ExecutionOutcome.SKIPPED_CONSENT, detail=blocked[e.contact_id])
        if e.contact_id in blocked
        else queued
        for e in members
    }
