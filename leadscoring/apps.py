from django.apps import AppConfig


class LeadscoringConfig(AppConfig):
    name = "leadscoring"
    verbose_name = "Lead scoring"

    def ready(self) -> None:
        from django.db.backends.signals import connection_created
        from django.db.models.signals import post_save

        from crm_core.models import Interaction

        from .services import sqlite_functions_register

        post_save.connect(
            _interaction_saved, sender=Interaction, dispatch_uid="leadscoring.interaction_saved"
        )
        # The portable recompute's lower() on SQLite (see services._Lower).
        connection_created.connect(sqlite_functions_register, dispatch_uid="leadscoring.sqlite_functions")


def _interaction_saved(sender, instance, created, **kwargs) -> None:
    """A new interaction (form submission, email open or click, ...) rescoring its contact's leads soon."""
    if created:
        from .services import interactions_recorded

        interactions_recorded(contact_ids=[instance.contact_id])
