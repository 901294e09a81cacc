"""The one seam that decides how set-based work runs.

Every job that has two implementations asks `postgres_sql()` and nothing else:

- PostgreSQL runs the job's hand-written statements (row locks with SKIP LOCKED, advisory locks,
  arrays, `INSERT ... ON CONFLICT`). These live in modules named `sql.py` (or `*_sql.py`).
- Any other database, i.e. the embedded SQLite default that lets one writer in at a time, runs the
  portable ORM path of the same algorithm, in modules named `portable.py` (or `*_portable.py`).

Tests run the portable path on PostgreSQL too, with `portable_path()` (a context manager) or the
`portable_path` pytest fixture, so both sides of each algorithm stay tested on the same data.
"""

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection

_forced_portable = False


def postgres_sql() -> bool:
    """True: run the PostgreSQL statements; False: run the portable ORM path."""
    return connection.vendor == "postgresql" and not _forced_portable


@contextmanager
def portable_path() -> Iterator[None]:
    """Run the portable path (as on SQLite) inside this block, whatever the database."""
    global _forced_portable
    previous, _forced_portable = _forced_portable, True
    try:
        yield
    finally:
        _forced_portable = previous
