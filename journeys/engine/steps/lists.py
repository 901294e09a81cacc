"""The subscription-list steps: add the group to a list, or take it off."""

from ... import adapters
from ..batch import advance


def list_add(step, members, batch):
    # Never re-subscribes someone who unsubscribed: their membership stays as it is.
    adapters.list_memberships_set(
        contact_ids=[e.contact_id for e in members], subscription_list_id=step.config["list"], subscribed=True
    )
    return {e.pk: advance() for e in members}


def list_remove(step, members, batch):
    # The membership is kept, marked unsubscribed: it blocks the list's email from now on.
    adapters.list_memberships_set(
        contact_ids=[e.contact_id for e in members],
        subscription_list_id=step.config["list"],
        subscribed=False,
    )
    return {e.pk: advance() for e in members}
