"""Fixtures shared by every app's tests: users per role and API clients."""

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from rest_framework.test import APIClient

from crm_core.tests.factories import AdminUserFactory, MarketerFactory, SalesRepFactory


def pytest_configure(config):
    # Cache keys (throttles, rate limits, coalescing flags) of one test session never meet
    # another session's in the shared Redis; worker subprocesses inherit the prefix.
    from django.conf import settings

    prefix = os.environ["CACHE_KEY_PREFIX"] = f"test-{uuid.uuid4().hex[:12]}"
    settings.CACHES["default"]["KEY_PREFIX"] = prefix


@pytest.fixture
def marketer(db):
    return MarketerFactory(username="marketer")


@pytest.fixture
def sales_rep(db):
    return SalesRepFactory(username="rep")


@pytest.fixture
def admin_user(db):
    return AdminUserFactory(username="admin")


def _client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def anon_client():
    return APIClient()


@pytest.fixture
def marketer_client(marketer):
    return _client_for(marketer)


@pytest.fixture
def sales_client(sales_rep):
    return _client_for(sales_rep)


@pytest.fixture
def admin_client_api(admin_user):
    return _client_for(admin_user)


# --- A real Celery worker ------------------------------------------------------------------
# Tests marked `worker` get a worker process consuming a queue of their own from Redis,
# connected to the test database; their data must be committed (transactional_db).

ROOT = Path(__file__).resolve().parent


def _database_url(settings_dict) -> str:
    user = settings_dict.get("USER") or ""
    password = settings_dict.get("PASSWORD") or ""
    auth = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    host = settings_dict.get("HOST") or "127.0.0.1"
    port = settings_dict.get("PORT") or 5432
    return f"postgres://{auth}{host}:{port}/{settings_dict['NAME']}"


def stop_process_group(process, *, timeout: float = 20) -> None:
    """SIGTERM a process started with start_new_session=True and its children; SIGKILL if it lingers."""
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


# --- The embedded default (SQLite, no Redis) in subprocesses ----------------------------------
SQLITE_FILE = "nurture.sqlite3"


def sqlite_default_env(tmp_path, **extra: str) -> dict:
    """The environment of the embedded default on a new SQLite file `tmp_path / SQLITE_FILE`:
    this session's database and Redis settings removed, DEBUG on, `extra` added."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL")}
    env.update(DATABASE_URL=f"sqlite:///{tmp_path / SQLITE_FILE}", DEBUG="true", **extra)
    return env


def manage(env: dict, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    """`manage.py <args>` in a subprocess with `env`, output captured."""
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def wait_until(predicate, *, timeout: float = 10.0, interval: float = 0.1):
    """Poll `predicate` until it returns something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        time.sleep(interval)


@pytest.fixture
def celery_worker_process(transactional_db, tmp_path):
    from django.db import connection

    from config.celery_app import app

    queue = f"test-{uuid.uuid4().hex[:10]}"
    previous_queue = app.conf.task_default_queue
    app.conf.task_default_queue = queue
    env = dict(
        os.environ, DATABASE_URL=_database_url(connection.settings_dict), CELERY_TASK_DEFAULT_QUEUE=queue
    )
    log_path = tmp_path / "worker.log"
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "config",
                "worker",
                "--pool=prefork",
                "--concurrency=2",
                "-Q",
                queue,
                "--without-gossip",
                "--without-mingle",
                "--loglevel=INFO",
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_until(lambda: "ready." in log_path.read_text() or process.poll() is not None, timeout=60)
        assert process.poll() is None, log_path.read_text()
        process.log_path = log_path
        yield process
    finally:
        app.conf.task_default_queue = previous_queue
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        with app.connection_for_write() as conn:
            conn.default_channel.queue_delete(queue)


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """After the session, end connections that request threads of the live server (browser tests)
    left open, so the test database can be dropped instead of warning that it is in use."""
    yield
    with django_db_blocker.unblock():
        from django.db import connection

        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
