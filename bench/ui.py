"""Web UI render times at scale: the contact list (both views, first and deep pages) and contact pages.

On the demo data set of --contacts contacts (1,000,000 by default, seeded once and shared with the
other benchmarks), renders each page in-process through Django's test client as a logged-in user
(a marketer for the marketing view, a sales rep for the sales view), --repeat times, and prints
p50 / p95 / max in milliseconds, the queries each page ran, and whether every p95 is under the
300 ms goal. A "deep" page starts at the row --depth rows into the list: its cursor is made from
that row's key, exactly as the page's own "Next" link would carry it, so the page itself never
uses an OFFSET. The contact pages are the --sample contacts with the most interactions among a
random draw. The account page (the account with most contacts), account, lead and opportunity
lists and the dashboard are timed too, for reference. Only the benchmark's two users are written
(they are kept for the next run).
"""

from __future__ import annotations

import argparse
import statistics
import time

from bench.common import ensure_dataset, percentile, report

GOAL_MS = 300.0


def _users():
    from django.contrib.auth.models import Group, User

    users = {}
    for username, role in (("bench-ui-marketer", "marketing"), ("bench-ui-rep", "sales")):
        user, _ = User.objects.get_or_create(username=username)
        user.groups.add(Group.objects.get(name=role))
        users[role] = user
    return users


def _deep_cursor(view: str, ordering: tuple[str, ...], depth: int) -> str:
    """The cursor of the page that starts `depth` rows into the list (what "Next" links carry)."""
    from crm_core.keyset import Cursor, cursor_encode, key_of
    from crm_core.models import Contact

    contacts = Contact.objects.all() if view == "marketing" else Contact.objects.filter(marketing_only=False)
    row = contacts.order_by(*ordering)[depth - 1 : depth].get()
    return cursor_encode(Cursor(reverse=False, position=key_of(row, ordering), ordering=ordering))


def _contact_sample(size: int) -> list[int]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT c.id FROM (SELECT id FROM crm_core_contact TABLESAMPLE SYSTEM (1) LIMIT 2000) c
               ORDER BY (SELECT count(*) FROM crm_core_interaction i WHERE i.contact_id = c.id) DESC
               LIMIT %s""",
            [size],
        )
        return [row[0] for row in cursor.fetchall()]


def _largest_account() -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT parent_account_id FROM crm_core_contact WHERE parent_account_id IS NOT NULL"
            " GROUP BY parent_account_id ORDER BY count(*) DESC LIMIT 1"
        )
        return cursor.fetchone()[0]


def _measure(client, url: str, repeat: int) -> tuple[list[float], int, int]:
    from django.db import connection

    response = client.get(url)  # warm: templates compiled, connection open, pages cached by PostgreSQL
    if response.status_code != 200:
        raise SystemExit(f"{url} answered {response.status_code}: {response.content[:500]!r}")
    executed = []

    def count(execute, sql, params, many, context):
        executed.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        client.get(url)
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200
    return times, len(executed), len(response.content)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench ui", description=__doc__)
    parser.add_argument("--contacts", type=int, default=1_000_000, help="data set size (its own database)")
    parser.add_argument("--repeat", type=int, default=20, help="timed renders per page")
    parser.add_argument("--depth", type=int, default=500_000, help="rows into the list for a deep page")
    parser.add_argument("--sample", type=int, default=5, help="contact pages to time")
    args = parser.parse_args(argv)
    ensure_dataset(args.contacts)

    from django.test import Client

    from crm_core.models import Contact

    users = _users()
    depth = min(args.depth, max(1, Contact.objects.filter(marketing_only=False).count() - 100))
    clients = {}
    for role, user in users.items():
        clients[role] = Client(SERVER_NAME="127.0.0.1")
        clients[role].force_login(user)

    pages = []
    for role, view in (("sales", "sales"), ("marketing", "marketing")):
        pages.append((f"contact list, {view} view, first page", role, f"/contacts/?view={view}"))
        for ordering_key, ordering in (("-id", ("-id",)), ("last_name", ("last_name", "id"))):
            cursor = _deep_cursor(view, ordering, depth)
            pages.append(
                (
                    f"contact list, {view} view, {depth:,} rows deep, by {ordering_key}",
                    role,
                    f"/contacts/?view={view}&ordering={ordering_key}&cursor={cursor}",
                )
            )
    for title, query in (
        ("decision makers with leads", "job_role=decision_maker&has_leads=yes"),
        ("by country, by last name", "country=Germany&ordering=last_name"),
        ("with a sales-ready lead", "sales_ready=on"),
        ("search 'berger'", "q=berger"),
        ("search a rare email", "q=shelby.berger.275%40"),
    ):
        pages.append((f"contact list, sales view, {title}", "sales", f"/contacts/?{query}"))
    for contact_id in _contact_sample(args.sample):
        pages.append((f"contact page #{contact_id}", "marketing", f"/contacts/{contact_id}/"))
    # The other pages of the UI, for reference (the goal above is about the contact pages).
    biggest_account = _largest_account()
    pages += [
        (f"account page #{biggest_account} (most contacts)", "sales", f"/accounts/{biggest_account}/"),
        ("account list", "sales", "/accounts/"),
        ("lead queue", "sales", "/leads/queue/"),
        ("opportunity list", "sales", "/opportunities/"),
        ("dashboard, last 90 days", "marketing", "/dashboard/"),
    ]

    rows, worst = [], 0.0
    for title, role, url in pages:
        times, queries, size = _measure(clients[role], url, args.repeat)
        p95 = percentile(times, 95)
        if title.startswith("contact"):
            worst = max(worst, p95)
        rows.append(
            (
                title,
                f"p50 {statistics.median(times):6.1f} ms  p95 {p95:6.1f} ms  max {max(times):6.1f} ms"
                f"  queries {queries:2d}  {size / 1024:.0f} KiB",
            )
        )
    verdict = "met" if worst < GOAL_MS else "MISSED"
    rows.append(("goal", f"every contact list and contact page p95 under {GOAL_MS:.0f} ms: {verdict}"))
    report(f"web UI render times, {Contact.objects.count():,} contacts, {args.repeat} renders each", rows)
    return 0 if worst < GOAL_MS else 1
