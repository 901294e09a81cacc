"""Writes of the workspace's own table: saved views of the contact and lead lists.

The pages call these after validating the query string with the list's filter form; the access
rule (only the owner changes or deletes a view) is `crm_core.access.check_saved_view_change`.
"""

from django.db import transaction

from crm_core import access

from .models import SavedView


@transaction.atomic
def saved_view_save(*, owner, entity: str, name: str, query: str, shared: bool) -> tuple[SavedView, bool]:
    """Save the owner's view of `entity` under `name`, replacing their view of that name if there is
    one; returns (view, created). The row lock makes two saves of one name queue, not collide."""
    view = SavedView.objects.select_for_update().filter(owner=owner, entity=entity, name=name).first()
    if view is None:
        return SavedView.objects.create(
            owner=owner, entity=entity, name=name, query=query, shared=shared
        ), True
    view.query, view.shared = query, shared
    view.save(update_fields=["query", "shared", "updated_at"])
    return view, False


@transaction.atomic
def saved_view_delete(*, saved_view: SavedView, actor) -> None:
    access.check_saved_view_change(actor, saved_view)
    saved_view.delete()
