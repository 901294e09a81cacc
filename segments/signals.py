"""ORM writes to the CRM records a segment can read mark those entities changed for live segments.

Set-based writes (bulk SQL in crm_core services) send `crm_core.signals.records_changed`.
"""

from django.db.models.signals import post_delete, post_save

from crm_core import models as crm
from crm_core.signals import records_changed

ENTITY_OF_MODEL = {
    crm.Contact: "contact",
    crm.Lead: "lead",
    crm.Account: "account",
    crm.Opportunity: "opportunity",
    crm.Interaction: "interaction",
    crm.ListMembership: "subscription",
    crm.EventRegistration: "registration",
}


def _changed(sender, **kwargs) -> None:
    from .services import segments_entities_changed

    segments_entities_changed(entities={ENTITY_OF_MODEL[sender]})


def _records_changed(sender, *, entities, **kwargs) -> None:
    from .services import segments_entities_changed

    segments_entities_changed(entities=set(entities))


def connect() -> None:
    records_changed.connect(_records_changed, dispatch_uid="segments.records_changed")
    for model in ENTITY_OF_MODEL:
        post_save.connect(_changed, sender=model, dispatch_uid=f"segments.changed.{model.__name__}.save")
        post_delete.connect(_changed, sender=model, dispatch_uid=f"segments.changed.{model.__name__}.delete")
