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
