"""Load on the REST API: requests/s, p50/p99 latency and queries per request of two list endpoints.

Serves the app with gunicorn (2 sync workers, DEBUG off) on the demo data set
of N contacts and fires a bounded load from 2 concurrent clients at
`/api/contacts/?view=sales` and a filtered lead list, walking their cursor
pages (`next` links, back to page 1 after --pages pages). Queries per request
are counted in-process with CaptureQueriesContext on one sample request each.
The data set is only read; the benchmark's user and token live in a scratch
database (see bench/_api_settings.py) that is dropped afterwards.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

from bench.common import create_database, database_url, dataset_ready, percentile, report, timer

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
ENDPOINTS = {
    "contacts (sales view)": "/api/contacts/?view=sales&page_size=50",
    "orphan leads by topic": (
        "/api/leads/?parent_contact__isnull=true&topic=Contoso%20Ltd%20Conference&page_size=50"
    ),
}

MAKE_USER = """
from django.contrib.auth.models import Group, User
from rest_framework.authtoken.models import Token
user = User.objects.create_user("bench-rep", password=None)
user.groups.add(Group.objects.get(name="sales"))
print("TOKEN=" + Token.objects.create(user=user).key)
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def _run(args, env, **kwargs):
    result = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, **kwargs)
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(map(str, args))} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


def _base_env() -> dict:
    env = dict(os.environ)
    env.setdefault("SECRET_KEY", "benchmark-only-secret-key")
    env.setdefault("EMAIL_BACKEND", "django.core.mail.backends.locmem.EmailBackend")
    env["DEBUG"] = "false"
    env["LOG_LEVEL"] = "WARNING"
    return env


def prepare(contacts: int) -> tuple[str, str, str]:
    """The data set's URL, a scratch auth database's URL, and an API token of a sales rep there."""
    data_url = database_url(str(contacts))
    env = _base_env()
    if not dataset_ready(data_url):
        _run([sys.executable, "-m", "bench", "dataset", "--contacts", str(contacts)], env)
    auth_url = database_url(f"{contacts}_apiauth")
    create_database(auth_url, drop=True)
    env["DATABASE_URL"] = auth_url
    _run([sys.executable, "manage.py", "migrate", "--noinput", "-v0"], env, timeout=600)
    out = _run([sys.executable, "manage.py", "shell", "-c", MAKE_USER], env, timeout=120)
    token = next(line.split("=", 1)[1] for line in out.splitlines() if line.startswith("TOKEN="))
    return data_url, auth_url, token


def app_env(data_url: str, auth_url: str) -> dict:
    env = _base_env()
    env.update(
        DATABASE_URL=data_url,
        BENCH_AUTH_DATABASE_URL=auth_url,
        DJANGO_SETTINGS_MODULE="bench._api_settings",
        ALLOWED_HOSTS=HOST,
        # The load must measure the API, not the rate limit.
        API_THROTTLE_USER="100000000/hour",
    )
    return env


def count_queries(env: dict, token: str) -> dict[str, tuple[int, int]]:
    """Queries of one request per endpoint (CRM data set, auth database), counted in-process."""
    os.environ.update(env)
    import django

    django.setup()
    from django.db import connections
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(HTTP_HOST=HOST, HTTP_AUTHORIZATION=f"Token {token}")
    counts = {}
    for name, path in ENDPOINTS.items():
        client.get(path)  # warm up connections
        url, seen = path, []
        for _ in range(2):  # page 1 and, if there is one, page 2: the same count
            with (
                CaptureQueriesContext(connections["default"]) as data,
                CaptureQueriesContext(connections["auth"]) as auth,
            ):
                response = client.get(url)
            assert response.status_code == 200, response.content[:500]
            seen.append((len(data.captured_queries), len(auth.captured_queries)))
            url = json.loads(response.content)["next"]
            if not url:
                break
        assert len(set(seen)) == 1, f"{name}: queries differ between pages: {seen}"
        counts[name] = seen[0]
    return counts


def load(token: str, port: int, path: str, *, total: int, clients: int, pages: int):
    """Fire `total` GETs from `clients` threads, each walking `next` links; latencies in seconds."""
    latencies: list[float] = []
    failures: list[str] = []
    lock = threading.Lock()
    per_client = [total // clients + (1 if i < total % clients else 0) for i in range(clients)]

    def client(count: int) -> None:
        url, depth = path, 0
        mine = []
        for _ in range(count):
            conn = http.client.HTTPConnection(HOST, port, timeout=60)
            started = time.perf_counter()
            conn.request("GET", url, headers={"Authorization": f"Token {token}", "Host": HOST})
            response = conn.getresponse()
            body = response.read()
            mine.append(time.perf_counter() - started)
            conn.close()
            if response.status != 200:
                with lock:
                    failures.append(f"{response.status} {url}: {body[:200]!r}")
                url, depth = path, 0
                continue
            following = json.loads(body)["next"]
            depth += 1
            if following and depth < pages:
                parts = urlsplit(following)
                url = f"{parts.path}?{parts.query}"
            else:
                url, depth = path, 0
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=client, args=(count,)) for count in per_client]
    with timer() as elapsed:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    return latencies, elapsed(), failures


def _start_server(env: dict, port: int, workers: int) -> subprocess.Popen:
    """gunicorn serving the app on `port`, once it accepts connections (SystemExit if it does not)."""
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "config.wsgi:application",
            "--workers",
            str(workers),
            "--bind",
            f"{HOST}:{port}",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
    )
    deadline = time.monotonic() + 60
    while True:
        try:
            socket.create_connection((HOST, port), timeout=1).close()
            return server
        except OSError:
            if time.monotonic() > deadline or server.poll() is not None:
                server.terminate()
                raise SystemExit("gunicorn did not start") from None
            time.sleep(0.2)


def _stop_server(server: subprocess.Popen) -> None:
    server.terminate()
    try:
        server.wait(timeout=20)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


def _endpoint_rows(name: str, path: str, token: str, port: int, args, queries) -> list[tuple[str, str]]:
    """Warm the endpoint up, load it, and report its throughput, latency and queries per request."""
    load(token, port, path, total=20 * args.clients, clients=args.clients, pages=args.pages)  # warm up
    latencies, seconds, failures = load(
        token, port, path, total=args.requests, clients=args.clients, pages=args.pages
    )
    data_queries, auth_queries = queries[name]
    p50, p99 = percentile(latencies, 50) * 1000, percentile(latencies, 99) * 1000
    rows = [
        (f"{name}", path),
        ("  requests", f"{len(latencies):,} in {seconds:.1f}s, {len(failures)} failed"),
        ("  requests/s", f"{len(latencies) / seconds:,.1f}"),
        ("  latency p50 / p99", f"{p50:.1f} ms / {p99:.1f} ms"),
        (
            "  queries/request",
            f"{data_queries + auth_queries} ({data_queries} data, {auth_queries} auth/roles)",
        ),
    ]
    return rows + [("  failure", failure) for failure in failures[:3]]


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench api", description=__doc__)
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=2000, help="requests per endpoint")
    parser.add_argument("--clients", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--pages", type=int, default=50, help="cursor pages a client walks before page 1")
    args = parser.parse_args(argv)

    data_url, auth_url, token = prepare(args.contacts)
    env = app_env(data_url, auth_url)
    port = _free_port()
    server = None
    try:
        server = _start_server(env, port, args.workers)
        queries = count_queries(env, token)
        rows = [
            ("data set", f"{args.contacts:,} contacts"),
            (
                "server",
                f"gunicorn, {args.workers} sync workers, DEBUG off, {args.clients} concurrent clients",
            ),
        ]
        for name, path in ENDPOINTS.items():
            rows += _endpoint_rows(name, path, token, port, args, queries)
        report(f"REST API under load ({args.requests:,} requests per endpoint)", rows)
        print("  (shared 2-core machine: figures are noisy)")
    finally:
        if server is not None:
            _stop_server(server)
        from django.db import connections

        connections.close_all()
        _drop(auth_url)
    return 0


def _drop(url: str) -> None:
    import psycopg

    from bench.common import _admin_conninfo

    admin_url, name = _admin_conninfo(url)
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
