from django.apps import AppConfig


class LeadscoringConfig(AppConfig):
    name = "leadscoring"
    verbose_name = "Lead scoring"

    def ready(self) -> None:
        from django.db.backends.signals import connection_created

        from crm_core.events import records_changed

        from .services.portable import sqlite_functions_register

        records_changed.connect(_records_changed, dispatch_uid="leadscoring.records_changed")
        # The portable recompute's lower() on SQLite (see services/portable.py).
        connection_created.connect(sqlite_functions_register, dispatch_uid="leadscoring.sqlite_functions")

    def custom_field_usages(self, entity: str, key: str) -> list[str]:
        """Condition rules (segment trees over the lead) naming the custom field."""
        from segments.compiler import definition_uses_field

        from .models import ScoringRule

        rules = ScoringRule.objects.filter(condition__isnull=False).select_related("model").order_by("id")
        return [
            f"scoring rule “{rule.name}” of model “{rule.model.name}”"
            for rule in rules
            if definition_uses_field(rule.condition, "lead", entity, f"custom.{key}")
        ]


def _records_changed(sender, *, change, **kwargs) -> None:
    """New interactions (form submissions, email opens and clicks, ...) rescore their contacts' leads
    soon; so do new leads and leads given a parent contact (the orphan-lead workflow, a conversion, an
    import, an edit): their contact's leads go into the same pending set."""
    from crm_core import events

    if change.entity == events.INTERACTION and change.action == events.CREATED and change.contact_ids:
        from .services import interactions_recorded

        interactions_recorded(contact_ids=change.contact_ids, interaction_ids=change.ids)
    elif change.entity == events.LEAD and (
        change.action == events.CREATED
        or (change.action == events.UPDATED and (change.fields is None or "parent_contact" in change.fields))
    ):
        from .services import leads_linked

        leads_linked(lead_ids=change.ids, contact_ids=change.contact_ids)
