"""Live segments hear of CRM changes through `crm_core.events.records_changed`.

Every writer of the CRM tables goes through crm_core's services, which announce each change
(set-based writes included) after commit; freshness.py turns each notice into pending work of the
live segments it may concern.
"""

from crm_core.events import RecordsChanged, records_changed


def _records_changed(sender, *, change: RecordsChanged, **kwargs) -> None:
    from .freshness import records_changed as segments_hear

    segments_hear(change)


def connect() -> None:
    records_changed.connect(_records_changed, dispatch_uid="segments.records_changed")
