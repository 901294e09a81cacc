import pytest

from crm_core import sqlpath


@pytest.fixture(params=["sql", "portable"])
def scoring_path(request):
    """Run a test on the PostgreSQL SQL and on the ORM path the embedded SQLite default uses."""
    if request.param == "portable":
        with sqlpath.portable_path():
            yield request.param
    else:
        yield request.param
