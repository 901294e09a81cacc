"""Fixtures shared by every app's tests: users per role and API clients."""

import hashlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
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

    # --reuse-db (make test) keeps the test databases between runs. Their name carries a digest of
    # every migration, so a database is reused only by a checkout with the same migrations: a
    # branch with other migrations (or an edited one) gets databases of its own.
    database = settings.DATABASES["default"]
    if database["ENGINE"] != "django.db.backends.sqlite3":
        test = database.setdefault("TEST", {})
        test["NAME"] = f"{test.get('NAME') or 'test_' + database['NAME']}_{_migrations_digest()}"
    elif os.environ.get(SQLITE_TEST_DATABASE):  # a copy of the migrated template (rerun_on_sqlite)
        database.setdefault("TEST", {})["NAME"] = os.environ[SQLITE_TEST_DATABASE]


def _migrations_digest() -> str:
    digest = hashlib.sha256()
    for path in sorted(ROOT.glob("*/migrations/*.py")):
        digest.update(str(path.relative_to(ROOT)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:10]


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
    this session's database and Redis settings removed, DEBUG on, `extra` added. Its filesystem
    broker keeps its folders under `tmp_path` too, so the test writes nothing in the checkout and
    a developer's worker on the checkout's var/celery-broker/ never gets the test's tasks."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL")}
    env.update(
        DATABASE_URL=f"sqlite:///{tmp_path / SQLITE_FILE}",
        DEBUG="true",
        CELERY_BROKER_DIR=str(tmp_path / "celery-broker"),
        **extra,
    )
    return env


# The test database of a rerun_on_sqlite process: a file, copied from a migrated template.
SQLITE_TEST_DATABASE = "NURTURE_SQLITE_TEST_DATABASE"


def migrated_sqlite_template() -> Path:
    """A SQLite file with every migration applied, made once per set of migrations (named after
    their digest, like the PostgreSQL test databases) and shared by every rerun: migrating SQLite
    takes about 7 s, copying the file a few milliseconds. Two processes making it at once both
    finish; the file is moved into place whole, so nobody reads half of one."""
    path = Path(tempfile.gettempdir()) / f"nurture-test-template-{_migrations_digest()}.sqlite3"
    if not path.exists():
        partial = path.with_name(f"{path.name}.{os.getpid()}.partial")
        partial.unlink(missing_ok=True)
        env = {**sqlite_default_env(partial.parent), "DATABASE_URL": f"sqlite:///{partial}"}
        done = manage(env, "migrate", "--no-input", "-v", "0")
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        os.replace(partial, path)
    return path


def migrated_sqlite(env: dict) -> None:
    """The new SQLite file of `env` (sqlite_default_env) as `manage.py migrate` leaves it: a copy of
    the migrated template. tests/test_embedded_default.py and tests/test_first_hour.py migrate a
    new file themselves."""
    url = env["DATABASE_URL"]
    assert url.startswith("sqlite:///"), url
    shutil.copyfile(migrated_sqlite_template(), url.removeprefix("sqlite:///"))


def rerun_on_sqlite(tmp_path, test_file: str, *, leave_out: str, timeout: float = 900):
    """The tests of `test_file` again, in a pytest process on the embedded default's database
    (SQLite, `sqlite_default_env`), leaving out the test `leave_out` (the one that calls this, so
    the run does not start itself again). Its test database is a copy of the migrated template,
    kept by --reuse-db (the migrations still run, finding nothing to do). Returns the finished
    process, output captured."""
    test_database = tmp_path / "test_nurture.sqlite3"
    shutil.copyfile(migrated_sqlite_template(), test_database)
    env = sqlite_default_env(
        tmp_path, REDIS_URL=os.environ.get("REDIS_URL", ""), **{SQLITE_TEST_DATABASE: str(test_database)}
    )
    command = [sys.executable, "-m", "pytest", test_file, "-q", "-p", "no:cacheprovider", "-p", "no:xdist",
               "--reuse-db", "--deselect", f"{Path(test_file).relative_to(ROOT)}::{leave_out}"]  # fmt: skip
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)


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


def worker_name(queue: str) -> str:
    """The node name tests give the worker of `queue` (`-n`), to ask it alone what it is doing."""
    return f"{queue}@{socket.gethostname()}"


def worker_is_idle(queue: str) -> bool:
    """The worker of `queue` has nothing left: its queue is empty, it runs, holds and schedules no
    task, and the queue is still empty afterwards (a task finishing in between cannot have queued
    another unseen)."""
    from config.celery_app import app

    def queue_empty() -> bool:
        with app.connection_for_write() as conn:
            return conn.default_channel.client.llen(queue) == 0

    if not queue_empty():
        return False
    inspect = app.control.inspect(destination=[worker_name(queue)], timeout=2)
    for busy in (inspect.active(), inspect.reserved(), inspect.scheduled()):
        if busy is None or any(busy.values()):  # no answer yet, or tasks in hand
            return False
    return queue_empty()


def wait_for_worker_idle(queue: str, *, timeout: float = 60.0) -> None:
    """Wait for the positive signal that nothing more will happen (see `worker_is_idle`), instead
    of sleeping a fixed time before asserting that nothing more happened."""
    wait_until(lambda: worker_is_idle(queue), timeout=timeout, interval=0.2)


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
                "-n",
                f"{queue}@%h",
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
        process.queue = queue
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


# Rows the migrations write (RunPython). A reused test database (--reuse-db) is flushed at the start
# of the session (as a transactional test of an earlier session may have done), so each session
# writes them again (each function is idempotent). A new data migration belongs in this list.
MIGRATION_DATA = (
    ("crm_core.migrations.0002_roles", "create_groups"),
    ("crm_core.migrations.0004_workflow_settings_and_lead_status_changes", "create_workflow_settings"),
)


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """Write the migrations' rows again (see MIGRATION_DATA). After the session, end connections
    that request threads of the live server (browser tests) left open, so the test database can be
    dropped instead of warning that it is in use."""
    import importlib

    from django.apps import apps
    from django.core.management import call_command

    with django_db_blocker.unblock():
        # A reused database starts empty too, whatever a killed session left behind.
        call_command("flush", interactive=False, verbosity=0)
        for module, function in MIGRATION_DATA:
            getattr(importlib.import_module(module), function)(apps, None)
    yield
    with django_db_blocker.unblock():
        from django.db import connection

        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )


@pytest.fixture
def portable_path():
    """Run the portable ORM path (the embedded default's) on PostgreSQL for this test."""
    from crm_core import sqlpath

    with sqlpath.portable_path():
        yield


# --- A local SMTP sink ---------------------------------------------------------------------------


class SMTPSink:
    """Messages a real SMTP server on 127.0.0.1 received (aiosmtpd), parsed."""

    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        from email import message_from_bytes, policy

        message = message_from_bytes(envelope.content, policy=policy.default)
        self.messages.append({"from": envelope.mail_from, "to": list(envelope.rcpt_tos), "message": message})
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp_sink(settings):
    """A local SMTP server the email backend sends to (the SMTP backend, for this test)."""
    from aiosmtpd.controller import Controller

    sink = SMTPSink()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS = False
    try:
        yield sink
    finally:
        controller.stop()
