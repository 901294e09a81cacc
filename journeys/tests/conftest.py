"""Fixtures of the journeys tests: both SQL paths of the engine, and hearing change notices."""

import pytest

from crm_core.events import records_changed

from .engine_support import SQL_PATHS


def pytest_generate_tests(metafunc):
    """A test using `sql_path` runs once per path it is made for (engine_support.py)."""
    if "sql_path" in metafunc.fixturenames:
        metafunc.parametrize("sql_path", getattr(metafunc.function, "sql_paths", SQL_PATHS), indirect=True)


@pytest.fixture
def sql_path(request):
    """ "postgresql" or "portable": the latter runs the test on the portable ORM path."""
    if request.param == "portable":
        request.getfixturevalue("portable_path")
    return request.param


@pytest.fixture
def notices():
    """The change notices (crm_core.events) sent while the test runs, in order. The product's own
    subscribers (live segments, scoring) are disconnected meanwhile, so nothing is queued for them."""
    from leadscoring.apps import _records_changed as scoring_receiver
    from segments.signals import connect as connect_segments

    received = []

    def record(sender, *, change, **kwargs):
        received.append(change)

    records_changed.disconnect(dispatch_uid="segments.records_changed")
    records_changed.disconnect(dispatch_uid="leadscoring.records_changed")
    records_changed.connect(record, weak=False, dispatch_uid="journeys.tests.notices")
    try:
        yield received
    finally:
        records_changed.disconnect(dispatch_uid="journeys.tests.notices")
        connect_segments()
        records_changed.connect(scoring_receiver, dispatch_uid="leadscoring.records_changed")
