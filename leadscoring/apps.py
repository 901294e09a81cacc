from django.apps import AppConfig


class LeadscoringConfig(AppConfig):
    name = "leadscoring"
    verbose_name = "Lead scoring"

    def ready(self) -> None:
        from django.db.models.signals import post_save

        from crm_core.models import Interaction

        post_save.connect(
            _interaction_saved, sender=Interaction, dispatch_uid="leadscoring.interaction_saved"
        )


def _interaction_saved(sender, instance, created, **kwargs) -> None:
    """A new interaction (form submission, email open or click, ...) rescoring its contact's leads soon."""
    if created:
        from .services import interactions_recorded

        interactions_recorded(contact_ids=[instance.contact_id])
