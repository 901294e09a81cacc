"""The transitional model-signal receivers of live segments and lead scoring (post_save/post_delete
of the CRM models), switched off so that a test proves a write reaches them through crm_core's
change notices alone."""

from django.db.models.signals import post_delete, post_save

# What a worker process started with journeys.tests.celery_notices_only logs, with True or False.
WORKER_MARK = "notices-only worker process, model receivers connected:"


def _crm_models():
    from crm_core import models as crm

    return (
        crm.Contact,
        crm.Lead,
        crm.Account,
        crm.Opportunity,
        crm.Interaction,
        crm.ListMembership,
        crm.EventRegistration,
    )


def disconnect_model_receivers() -> None:
    from crm_core.models import Interaction

    for model in _crm_models():
        post_save.disconnect(sender=model, dispatch_uid=f"segments.model.{model.__name__}.save")
        post_delete.disconnect(sender=model, dispatch_uid=f"segments.model.{model.__name__}.delete")
    post_save.disconnect(sender=Interaction, dispatch_uid="leadscoring.interaction_saved")


def reconnect_model_receivers() -> None:
    """Connect again those of the receivers the code base still has."""
    from crm_core.models import Interaction
    from leadscoring import apps as scoring
    from segments import signals as segments

    if hasattr(segments, "connect_model_signals"):
        segments.connect_model_signals()
    if hasattr(scoring, "_interaction_saved"):
        post_save.connect(
            scoring._interaction_saved, sender=Interaction, dispatch_uid="leadscoring.interaction_saved"
        )


def model_receivers_connected() -> bool:
    """Does any post_save/post_delete receiver listen to a CRM model in this process?"""
    return any(signal.has_listeners(model) for model in _crm_models() for signal in (post_save, post_delete))
