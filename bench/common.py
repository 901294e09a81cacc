"""What every benchmark shares: a PostgreSQL database of demo data, timing, printing.

Benchmarks use `BENCH_DATABASE_URL` (default postgres://postgres@127.0.0.1:5432/nurture_bench);
a data set of N contacts lives in its own database `<name>_<N>`, seeded once
and reused by every benchmark that asks for that size.
"""

from __future__ import annotations

import os
import statistics
import time
from contextlib import contextmanager
from urllib.parse import urlsplit, urlunsplit

import psycopg

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/nurture_bench"
READY_TABLE = "bench_dataset_ready"


def base_url() -> str:
    return os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)


def database_url(suffix: str) -> str:
    parts = urlsplit(base_url())
    return urlunsplit(parts._replace(path=f"{parts.path}_{suffix}"))


def _admin_conninfo(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/postgres")), parts.path.lstrip("/")


def create_database(url: str, *, drop: bool = False) -> bool:
    """Create the database of `url` (dropping it first if asked); True if it was created."""
    admin_url, name = _admin_conninfo(url)
    with psycopg.connect(admin_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if exists and drop:
            conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
            exists = None
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')
            return True
    return False


def dataset_ready(url: str) -> bool:
    try:
        with psycopg.connect(url) as conn:
            return bool(conn.execute("SELECT to_regclass(%s) IS NOT NULL", [READY_TABLE]).fetchone()[0])
    except psycopg.OperationalError:
        return False


def setup_django(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("SECRET_KEY", "benchmark-only-secret-key")
    os.environ.setdefault("EMAIL_BACKEND", "django.core.mail.backends.locmem.EmailBackend")
    os.environ.setdefault("SECURE_SSL_REDIRECT", "false")  # the benchmarks' clients speak plain HTTP
    import django

    django.setup()


def ensure_dataset(contacts: int, *, seed: int = 42, rows_only: bool = False) -> str:
    """Set Django up on a database holding the demo data set of `contacts` contacts; return its URL.

    `rows_only`: the rows as generated, before any workflow ran (orphan leads still unlinked, nothing
    scored or handed off), in a database of its own (`<name>_<N>_rows`)."""
    url = database_url(f"{contacts}_rows" if rows_only else str(contacts))
    if not dataset_ready(url):
        create_database(url, drop=True)
        setup_django(url)
        from django.core.management import call_command
        from django.db import connection

        call_command("migrate", verbosity=0)
        print(f"seeding a data set of {contacts:,} contacts into {url} (once; later runs reuse it)")
        with timer() as elapsed:
            call_command("seed_demo", contacts=contacts, seed=seed, rows_only=rows_only)
        print(f"  seeded in {elapsed():.1f}s")
        with timer() as vacuumed, connection.cursor() as cursor:
            # What autovacuum does to freshly loaded tables in production (it is off on a benchmark
            # server): visibility map and hint bits set, statistics current. Without it every
            # benchmark would start by paying for the data set's first reads.
            cursor.execute("VACUUM (ANALYZE)")
        print(f"  vacuumed in {vacuumed():.1f}s")
        with connection.cursor() as cursor:
            cursor.execute(f"CREATE TABLE {READY_TABLE} (contacts bigint, seconds float)")
            cursor.execute(f"INSERT INTO {READY_TABLE} VALUES (%s, %s)", [contacts, elapsed()])
    else:
        setup_django(url)
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
    return url


@contextmanager
def timer():
    started = time.perf_counter()
    done: list[float] = []

    def elapsed() -> float:
        return done[0] if done else time.perf_counter() - started

    yield elapsed
    done.append(time.perf_counter() - started)


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(pct / 100 * (len(ordered) - 1))))
    return ordered[index]


def summary(values: list[float]) -> str:
    return (
        f"n={len(values)} mean={statistics.fmean(values):.4f}s p50={percentile(values, 50):.4f}s "
        f"p99={percentile(values, 99):.4f}s"
    )


# The server settings a set-based benchmark prints with its figures (README: recommended settings).
SERVER_SETTINGS = (
    "shared_buffers",
    "work_mem",
    "maintenance_work_mem",
    "effective_cache_size",
    "random_page_cost",
    "effective_io_concurrency",
    "max_wal_size",
    "jit",
    "max_parallel_workers_per_gather",
    "autovacuum",
)


def server_settings() -> list[tuple[str, str]]:
    """Report rows: the PostgreSQL server's version and the settings the figures were measured under."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT split_part(version(), ' on ', 1)")
        version = cursor.fetchone()[0]
        cursor.execute(
            "SELECT string_agg(name || '=' || current_setting(name), ' ' ORDER BY ord)"
            " FROM unnest(%s::text[]) WITH ORDINALITY AS s(name, ord)",
            [list(SERVER_SETTINGS)],
        )
        values = cursor.fetchone()[0]
    return [("server", version), ("settings", values)]


def report(title: str, rows: list[tuple[str, str]]) -> None:
    width = max(len(k) for k, _ in rows)
    print(f"\n== {title}")
    for key, value in rows:
        print(f"  {key:<{width}}  {value}")
