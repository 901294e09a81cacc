"""Web UI render times at scale: the contact list (both views, first and deep pages) and contact pages.

On the demo data set of --contacts contacts (1,000,000 by default, seeded once and shared with the
other benchmarks), renders each page in-process through Django's test client as a logged-in user (a
marketer for the marketing view, a sales rep for the sales view), --repeat times, and prints p50 /
p95 / max in milliseconds, the queries each page ran, and whether every p95 is under the 300 ms goal
(`--only dashboard`: only the dashboard). A "deep" page starts at the row --depth rows into the
list: its cursor is made from that row's key, exactly as the page's own "Next" link would carry it,
so the page itself never uses an OFFSET. The contact pages are the --sample contacts with the most
interactions among a random draw. The dashboard is timed over 90 days, a year and the longest period
allowed. The account page (the account with most contacts), account, lead and opportunity lists are
timed too, for reference.

The sales timeline and queue: a contact with --timeline-events events (interactions, activities and
tasks; made once through the services and kept) has its timeline timed on the first page, on a page
half-way down (by its cursor), filtered to activities, and through its lead and its account; the rep's
queue is timed with --queue-leads sales-ready leads assigned to the rep (each with its hand-off task),
which computes every row's score reasons. Written: the benchmark's two users, that contact with its
lead, events, activities and tasks, and the leads assigned to the rep (kept for the next run).
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


TIMELINE_EMAIL = "bench-timeline@example.com"


def _timeline_contact(events: int, rep) -> tuple[int, int, int]:
    """(contact id, lead id, account id) of the benchmark's contact with `events` timeline events: 90%
    interactions over the last year, 5% activities, 5% tasks (half of them done); made once."""
    import random
    from datetime import timedelta

    from django.db import transaction
    from django.utils import timezone

    from crm_core import services as crm
    from crm_core.models import Account, InteractionKind, Lead
    from sales import services as sales
    from sales.models import Activity, Task

    account = Account.objects.order_by("id").first()
    contact, _ = crm.contact_get_or_create_by_email(
        email=TIMELINE_EMAIL,
        defaults={"first_name": "Tina", "last_name": "Timeline", "parent_account": account},
    )
    lead = Lead.objects.filter(parent_contact=contact).first() or crm.lead_create(
        topic="Timeline benchmark", parent_contact=contact, owner=rep, email=TIMELINE_EMAIL
    )
    have = contact.interactions.count()
    wanted = events * 90 // 100
    now = timezone.now()
    rng = random.Random(7)
    kinds = [InteractionKind.EMAIL_OPEN, InteractionKind.EMAIL_CLICK, InteractionKind.PAGE_VISIT]
    if have < wanted:
        for start in range(have, wanted, 1000):
            crm.interactions_record(
                rows=[
                    {
                        "contact_id": contact.pk,
                        "kind": rng.choice(kinds),
                        "occurred_at": now - timedelta(minutes=rng.randint(1, 525_600)),
                        "properties": {"email": "Pricing"},
                    }
                    for _ in range(min(1000, wanted - start))
                ]
            )
    with transaction.atomic():
        for n in range(Activity.objects.filter(lead=lead).count(), events * 5 // 100):
            sales.activity_log(
                actor=rep,
                kind="call",
                subject=f"Call {n}",
                outcome="connected",
                duration_minutes=5,
                occurred_at=now - timedelta(minutes=rng.randint(1, 525_600)),
                lead=lead,
            )
        missing = events * 5 // 100 - Task.objects.filter(lead=lead).count()
        if missing > 0:
            sales.tasks_create(
                title="Follow up",
                source="manual",
                targets=[sales.TaskTarget(owner_id=rep.pk, lead_id=lead.pk)] * missing,
                due_at=now + timedelta(days=1),
            )
        for task in Task.objects.filter(lead=lead, done_at__isnull=True)[
            : missing // 2 if missing > 0 else 0
        ]:
            sales.task_complete(actor=rep, task=task)
    return contact.pk, lead.pk, contact.parent_account_id


def _queue_for(rep, leads: int) -> int:
    """Give the rep `leads` sales-ready leads (new or marketing qualified), each with a hand-off task."""
    from datetime import timedelta

    from django.db import transaction
    from django.utils import timezone

    from crm_core.models import Lead, LeadStatus
    from crm_core.services import lead_assign
    from sales import services as sales

    queue = Lead.objects.filter(sales_ready=True, status__in=[LeadStatus.NEW, LeadStatus.MARKETING_QUALIFIED])
    if not queue.exists():  # the demo data is not scored yet: score it once (hands leads to sales users)
        from leadscoring.models import ScoringModel
        from leadscoring.services import scoring_model_recompute

        model = ScoringModel.objects.filter(is_primary=True).first()
        if model is not None:
            print(f"scoring the data set with '{model.name}' (once; hands sales-ready leads to the rep)")
            scoring_model_recompute(model=model)
    missing = leads - queue.filter(owner=rep).count()
    if missing > 0:
        picked = list(queue.exclude(owner=rep).order_by("-id")[:missing])
        with transaction.atomic():
            for lead in picked:
                lead_assign(lead=lead, owner=rep)
            sales.tasks_create(
                title=sales.HANDOFF_TASK_TITLE,
                source="handoff",
                targets=[sales.TaskTarget(owner_id=rep.pk, lead_id=lead.pk) for lead in picked],
                due_at=timezone.now() + sales.HANDOFF_TASK_DUE - timedelta(hours=12),
            )
    return queue.filter(owner=rep).count()


def _half_way_cursor(entity: str, pk: int, events: int) -> str:
    """The timeline cursor after the newest half of its events (what its "Older" links carry)."""
    from sales.timeline import timeline_page

    page = timeline_page(entity, pk, size=events // 2)
    return page.next_cursor


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


def _arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench ui", description=__doc__)
    parser.add_argument("--contacts", type=int, default=1_000_000, help="data set size (its own database)")
    parser.add_argument("--repeat", type=int, default=20, help="timed renders per page")
    parser.add_argument("--depth", type=int, default=500_000, help="rows into the list for a deep page")
    parser.add_argument("--sample", type=int, default=5, help="contact pages to time")
    parser.add_argument("--timeline-events", type=int, default=5_000, help="events of the timeline contact")
    parser.add_argument("--queue-leads", type=int, default=60, help="sales-ready leads in the rep's queue")
    parser.add_argument(
        "--only", choices=("all", "dashboard"), default="all", help="time every page, or only the dashboard"
    )
    return parser.parse_args(argv)


def _contact_pages(args: argparse.Namespace) -> list[tuple[str, str, str]]:
    """(title, role, url) of the contact lists (first and deep pages, filters, search) and pages."""
    from crm_core.models import Contact

    depth = min(args.depth, max(1, Contact.objects.filter(marketing_only=False).count() - 100))
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
    return pages


def _other_pages(args: argparse.Namespace, rep) -> list[tuple[str, str, str]]:
    """The other pages of the UI, for reference: timelines, the queue, lead, account pages, dashboard."""
    from urllib.parse import quote

    biggest_account = _largest_account()
    events = args.timeline_events
    contact_id, lead_id, account_id = _timeline_contact(events, rep)
    queued = _queue_for(rep, args.queue_leads)
    half = quote(_half_way_cursor("contact", contact_id, events))
    timeline = f"/timeline/contact/{contact_id}/"
    return [
        (f"timeline, contact with {events:,} events, first page", "sales", timeline),
        (f"timeline, same contact, {events // 2:,} events deep", "sales", f"{timeline}?cursor={half}"),
        ("timeline, same contact, activities only", "sales", f"{timeline}?kind=activity"),
        ("timeline, same contact, tasks and consent", "sales", f"{timeline}?kind=task&kind=consent"),
        ("timeline of its lead", "sales", f"/timeline/lead/{lead_id}/"),
        (f"timeline of its account #{account_id}", "sales", f"/timeline/account/{account_id}/"),
        (
            f"timeline of account #{biggest_account} (most contacts)",
            "sales",
            f"/timeline/account/{biggest_account}/",
        ),
        (f"lead queue, {queued} sales-ready leads with reasons and tasks", "sales", "/leads/queue/"),
        (f"lead page #{lead_id} (timeline contact's lead)", "sales", f"/leads/{lead_id}/"),
        (f"work panel of lead #{lead_id}", "sales", f"/work/lead/{lead_id}/"),
        (f"account page #{biggest_account} (most contacts)", "sales", f"/accounts/{biggest_account}/"),
        ("account list", "sales", "/accounts/"),
        ("opportunity list", "sales", "/opportunities/"),
    ]


def _dashboard_pages() -> list[tuple[str, str, str]]:
    """The marketing dashboard (marketers and admins only; a rep gets a 403, so there is no rep view)
    over the default 90 days, a year and the longest period the form allows."""
    from datetime import timedelta

    from django.utils import timezone

    from workspace.forms import DASHBOARD_MAX_DAYS

    today = timezone.localdate()
    pages = [("dashboard, last 90 days (default)", "marketing", "/dashboard/")]
    for days in (365, DASHBOARD_MAX_DAYS):
        since = (today - timedelta(days=days)).isoformat()
        pages.append((f"dashboard, last {days:,} days", "marketing", f"/dashboard/?date_from={since}"))
    return pages


def main(argv: list[str]) -> int:
    args = _arguments(argv)
    ensure_dataset(args.contacts)

    from django.test import Client

    from crm_core.models import Contact

    users = _users()
    clients = {}
    for role, user in users.items():
        clients[role] = Client(SERVER_NAME="127.0.0.1")
        clients[role].force_login(user)
    if args.only == "dashboard":
        pages = _dashboard_pages()
    else:
        pages = _contact_pages(args) + _other_pages(args, users["sales"]) + _dashboard_pages()

    rows, worst = [], 0.0
    for title, role, url in pages:
        times, queries, size = _measure(clients[role], url, args.repeat)
        p95 = percentile(times, 95)
        if title.startswith(("contact", "timeline", "lead queue", "dashboard")):
            worst = max(worst, p95)
        rows.append(
            (
                title,
                f"p50 {statistics.median(times):6.1f} ms  p95 {p95:6.1f} ms  max {max(times):6.1f} ms"
                f"  queries {queries:2d}  {size / 1024:.0f} KiB",
            )
        )
    verdict = "met" if worst < GOAL_MS else "MISSED"
    rows.append(
        (
            "goal",
            f"every contact list, contact page, timeline, queue and dashboard timed: p95 under"
            f" {GOAL_MS:.0f} ms: {verdict}",
        )
    )
    report(f"web UI render times, {Contact.objects.count():,} contacts, {args.repeat} renders each", rows)
    return 0 if worst < GOAL_MS else 1
