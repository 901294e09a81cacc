"""Subscription lists: create and change the lists contacts subscribe to.

Who is on a list (memberships) is consent, written by `crm_core.consent` with its trail.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction

from ..models import SubscriptionList

SUBSCRIPTION_LIST_FIELDS = frozenset({"name", "description", "is_public"})

_atomic = transaction.atomic(savepoint=False)


def _checked(values: dict[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(values) - SUBSCRIPTION_LIST_FIELDS)
    if unknown:
        raise TypeError(f"subscription list fields not settable here: {', '.join(unknown)}")
    return values


@_atomic
def subscription_list_create(*, actor=None, **values) -> SubscriptionList:
    """A new subscription list (name, description, is_public)."""
    return SubscriptionList.objects.create(**_checked(values))


@_atomic
def subscription_list_update(
    *, subscription_list: SubscriptionList, actor=None, **values
) -> SubscriptionList:
    """Change a list's name, description or whether the subscription center shows it."""
    for name, value in _checked(values).items():
        setattr(subscription_list, name, value)
    subscription_list.save()
    return subscription_list
