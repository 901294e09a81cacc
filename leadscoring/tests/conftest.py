import pytest

from crm_core import sqlpath
from leadscoring import services


@pytest.fixture(params=["sql", "portable"])
def scoring_path(request):
    """Run a test on the PostgreSQL SQL and on the ORM path the embedded SQLite default uses."""
    if request.param == "portable":
        with sqlpath.portable_path():
            yield request.param
    else:
        yield request.param


@pytest.fixture
def clean_redis():
    """A client of the real Redis, the incremental pending set and its flag empty before and after."""
    client = services.redis_client()
    client.delete(services.pending_contacts_key(), services.drain_scheduled_key())
    yield client
    client.delete(services.pending_contacts_key(), services.drain_scheduled_key())
