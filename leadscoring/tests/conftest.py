import pytest

from leadscoring import services


@pytest.fixture(params=["sql", "portable"])
def scoring_path(request, monkeypatch):
    """Run a test on the PostgreSQL SQL and on the ORM path the embedded SQLite default uses."""
    if request.param == "portable":
        monkeypatch.setattr(services, "_set_based_sql", lambda: False)
    return request.param
