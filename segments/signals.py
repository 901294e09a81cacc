"""Live segments hear of CRM changes through `crm_core.events.records_changed`.

Every writer of the CRM tables goes through crm_core's services, which announce each change
(set-based writes included) after commit; the entity changed marks the segments that read it.
"""

from crm_core.events import RecordsChanged, records_changed


def _records_changed(sender, *, change: RecordsChanged, **kwargs) -> None:
    from .services import segments_entities_changed

    segments_entities_changed(entities={change.entity})


def connect() -> None:
    records_changed.connect(_records_changed, dispatch_uid="segments.records_changed")


# Transitional: ORM saves not yet routed through crm_core services still mark their entity.
def _model_changed(sender, **kwargs) -> None:
    from crm_core import models as crm

    from .services import segments_entities_changed

    entity = {
        crm.Contact: "contact",
        crm.Lead: "lead",
        crm.Account: "account",
        crm.Opportunity: "opportunity",
        crm.Interaction: "interaction",
        crm.ListMembership: "subscription",
        crm.EventRegistration: "registration",
    }[sender]
    segments_entities_changed(entities={entity})


def connect_model_signals() -> None:
    from django.db.models.signals import post_delete, post_save

    from crm_core import models as crm

    for model in (
        crm.Contact,
        crm.Lead,
        crm.Account,
        crm.Opportunity,
        crm.Interaction,
        crm.ListMembership,
        crm.EventRegistration,
    ):
        post_save.connect(_model_changed, sender=model, dispatch_uid=f"segments.model.{model.__name__}.save")
        post_delete.connect(
            _model_changed, sender=model, dispatch_uid=f"segments.model.{model.__name__}.delete"
        )
