from django.apps import AppConfig


class SalesConfig(AppConfig):
    name = "sales"
    verbose_name = "Sales work"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from crm_core.events import records_changed
        from leadscoring.events import leads_handed_off

        records_changed.connect(_records_changed, dispatch_uid="sales.records_changed")
        leads_handed_off.connect(_leads_handed_off, dispatch_uid="sales.leads_handed_off")


def _records_changed(sender, *, change, **kwargs) -> None:
    """New interactions of contacts whose leads a rep owns: tell the owner marketing touched them."""
    from crm_core import events

    if change.entity == events.INTERACTION and change.action == events.CREATED and change.contact_ids:
        from .services import notify_marketing_touches

        notify_marketing_touches(contact_ids=change.contact_ids)


def _leads_handed_off(sender, *, handoff, **kwargs) -> None:
    """Scoring handed leads to their owners (sent inside its transaction): their call tasks,
    notifications and, after commit, the hand-off email."""
    from .services import handoff_follow_up

    handoff_follow_up(handoff=handoff)
