"""Collect the change notices (`crm_core.events.records_changed`) sent while a block runs."""

from contextlib import contextmanager

from crm_core.events import RecordsChanged, records_changed


@contextmanager
def notices_sent():
    """Yield a list that receives each `RecordsChanged` sent until the block ends.

    Notices are sent after commit: run the writes under `django_capture_on_commit_callbacks(execute=True)`.
    """
    sent: list[RecordsChanged] = []

    def receive(sender, *, change, **kwargs):
        sent.append(change)

    records_changed.connect(receive, weak=False, dispatch_uid="tests.notices_sent")
    try:
        yield sent
    finally:
        records_changed.disconnect(dispatch_uid="tests.notices_sent")
