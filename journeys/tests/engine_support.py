"""What the engine's tests (test_engine.py, test_outbox.py) share.

Those modules use the `sql_path` fixture (conftest.py): each of their tests runs on the PostgreSQL
statements and on the portable ORM path that the embedded SQLite default uses, except those made for
one path (`@postgresql_only`, `@portable_only`), which are generated for that path alone.
"""

from .. import services

SQL_PATHS = ("postgresql", "portable")


def postgresql_only(test):
    """Row and advisory locks: only the PostgreSQL path has them."""
    test.sql_paths = ("postgresql",)
    return test


def portable_only(test):
    test.sql_paths = ("portable",)
    return test


def live(journey):
    return services.journey_go_live(journey=journey)


def tick(now=None):
    return services.journeys_tick(now=now, inline=True)
