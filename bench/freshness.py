"""50 live segments kept current under a stream of changes: time from commit to membership, and exactness.

On a scratch copy of the data set of --contacts contacts (default 1,000,000; the copy is made from the
shared data set with CREATE DATABASE ... TEMPLATE and dropped afterwards unless --keep), it makes
50 live segments of mixed shapes (the seed example, an OR group over account fields with recent
clicks, interaction counts in a window, account-rooted segments, negated nodes and empty values,
`in_segment` chains), fills them, starts one Celery worker with --concurrency processes on a queue
of its own and sends --rate changes a second for --seconds through the services (new interactions,
lead topic and status changes, contact edits, account edits, new leads, new orphan leads) from
--writers threads. It prints the freshness (commit to membership updated, per segment and changed
record: p50, p95, p99, max), the database's CPU share (its backends' CPU from /proc), the worker's
backlog when the stream ends, and, once the worker is idle, the difference between every segment's
stored membership and a full evaluation of its definition (must be 0; differences a relative-time
window explains, because time moved it since the segment's last full evaluation, are counted apart).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from unittest import mock

import psycopg

from bench._freshness_parts import CLICK_KINDS, ROOT, CpuSampler, Stream, start_worker, stop_worker
from bench.common import database_url, dataset_ready, percentile, report, setup_django, timer


def _where(*conditions, entity="contact", match="all") -> dict:
    return {"entity": entity, "match": match, "conditions": list(conditions)}


def _related(name, *conditions, quantifier="exists", count=None, match="all", negate=False) -> dict:
    node = {"related": name, "quantifier": quantifier, "match": match, "conditions": list(conditions)}
    node.update({"count": count} if count else {})
    return {**node, "negate": True} if negate else node


def _field(name, op, value=None, negate=False) -> dict:
    node = {"field": name, "op": op, **({} if value is None else {"value": value})}
    return {**node, "negate": True} if negate else node


ROLES = ["decision_maker", "influencer", "technical_buyer", "economic_buyer", "champion"]
INDUSTRIES = ["software", "finance", "healthcare", "retail", "manufacturing", "education"]


def segment_definitions(topics: list[str], countries: list[str]) -> list[tuple[str, dict]]:
    """44 definitions that stand alone; `chain_definitions` adds 6 that reference them."""
    return [*_contact_shapes(topics, countries), *_account_and_negated_shapes(countries)]


def _contact_shapes(topics: list[str], countries: list[str]) -> list[tuple[str, dict]]:
    """The seed example's shape, OR groups with recent clicks, and counts in a window (26)."""
    roles, industries = ROLES, INDUSTRIES
    found = []
    for n in range(10):  # the seed example's shape
        role, topic = roles[n % 5], topics[n * 7 % len(topics)] if n else "Contoso Ltd Conference"
        found.append(
            (
                f"{role} with {topic}",
                _where(_field("job_role", "eq", role), _related("leads", _field("topic", "eq", topic))),
            )
        )
    for n in range(8):  # an OR group over account fields AND bulk email allowed AND recent clicks
        days = (7, 30)[n % 2]
        found.append(
            (
                f"engaged {n}",
                _where(
                    _related(
                        "account",
                        _field("industry", "eq", industries[n % 6]),
                        _field("country", "eq", countries[n % len(countries)]),
                        match="any",
                    ),
                    _field("do_not_bulk_email", "eq", False),
                    _related(
                        "interactions",
                        _field("kind", "eq", "email_click"),
                        _field("occurred_at", "in_last_days", days),
                    ),
                ),
            )
        )
    for n in range(8):  # how often something happened in a window
        kind, days, least = CLICK_KINDS[n % 4], (14, 30, 90)[n % 3], (2, 3, 5)[n % 3]
        found.append(
            (
                f"{kind} x{least} in {days} days",
                _where(
                    _related(
                        "interactions",
                        _field("kind", "eq", kind),
                        _field("occurred_at", "in_last_days", days),
                        quantifier="count",
                        count={"op": "gte", "value": least},
                    )
                ),
            )
        )
    return found


def _account_and_negated_shapes(countries: list[str]) -> list[tuple[str, dict]]:
    """Account-rooted audiences, negated nodes over empty values and plain contact fields (18)."""
    roles, industries = ROLES, INDUSTRIES
    found = []
    for n in range(6):  # account-based audiences
        found.append(
            (
                f"accounts: {industries[n]}",
                _where(
                    _field("industry", "eq", industries[n]),
                    _related("opportunities", _field("status", "eq", "open"))
                    if n % 2
                    else _related(
                        "contacts",
                        _field("job_role", "eq", "decision_maker"),
                        quantifier="count",
                        count={"op": "gte", "value": 2},
                    ),
                    entity="account",
                ),
            )
        )
    for n in range(6):  # negated nodes over empty values (NOT is plain NOT)
        found.append(
            (
                f"not reached {n}",
                _where(
                    _field("email", "in", [f"nobody{n}@example.com"], negate=True),
                    _related("leads", _field("status", "eq", "qualified"), negate=True),
                    _field("job_role", "neq", roles[n % 5]) if n % 2 else _field("city", "is_empty"),
                ),
            )
        )
    for n in range(6):  # plain contact fields
        found.append(
            (
                f"{countries[n]} marketing",
                _where(_field("country", "eq", countries[n]), _field("consent_level", "gte", 2 + n % 3)),
            )
        )
    return found


def chain_middle(head: int) -> dict:
    """Reads another live segment's membership."""
    return _where({"in_segment": head}, _field("do_not_email", "eq", False))


def chain_end(middle: int, excluded: int) -> dict:
    """Reads a segment that reads another, and excludes a third."""
    return _where({"in_segment": middle}, {"in_segment": excluded, "negate": True})


# --- The scratch database -----------------------------------------------------------------------------


def scratch_database(contacts: int) -> str:
    """A fresh copy of the data set of `contacts` contacts (seeded first if there is none)."""
    source = database_url(str(contacts))
    if not dataset_ready(source):
        subprocess.run(
            [sys.executable, "-m", "bench", "dataset", "--contacts", str(contacts)], cwd=ROOT, check=True
        )
    scratch = database_url(f"{contacts}_freshness")
    drop_database(scratch)
    name, template = scratch.rsplit("/", 1)[1], source.rsplit("/", 1)[1]
    with psycopg.connect(_admin(scratch), autocommit=True) as conn:
        for attempt in range(30):
            try:
                conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
                break
            except psycopg.errors.ObjectInUse:  # someone is reading the data set: wait for them
                if attempt == 29:
                    raise
                time.sleep(2)
    return scratch


def _admin(url: str) -> str:
    return url.rsplit("/", 1)[0] + "/postgres"


def drop_database(url: str) -> None:
    with psycopg.connect(_admin(url), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')


# --- Waiting for the worker, setting up, comparing, reporting ---------------------------------------


def backlog(queue: str) -> tuple[dict[str, int], int, int]:
    """(messages in the worker's queue by task, segments with pending work, pending anchors)."""
    from config.celery_app import app
    from segments import pending

    dirty = pending.dirty()
    client = pending.redis_client()
    anchors = sum(client.zcard(pending.pending_key(pk)) + client.zcard(pending.taken_key(pk)) for pk in dirty)
    queued: dict[str, int] = {}
    with app.connection_for_write() as conn:
        for message in conn.default_channel.client.lrange(queue, 0, -1):
            task = json.loads(message).get("headers", {}).get("task", "?")
            queued[task] = queued.get(task, 0) + 1
    return queued, len(dirty), anchors


def wait_idle(queue: str, segment_ids: list[int], timeout: float) -> float:
    """Wait until no segment has work pending or taken and the queue stayed empty for 3 s."""
    from segments import pending

    started, quiet_since = time.monotonic(), None
    while time.monotonic() - started < timeout:
        queued, dirty, _ = backlog(queue)
        busy = queued or dirty or pending.left_behind(segment_ids)
        quiet_since = None if busy else (quiet_since or time.monotonic())
        if quiet_since and time.monotonic() - quiet_since >= 3:
            return time.monotonic() - started
        time.sleep(0.25)
    raise RuntimeError(f"the worker was still busy after {timeout:.0f}s: {backlog(queue)}")


def create_segments(topics: list[str], countries: list[str]) -> list[int]:
    """The 50 live segments (44 standing alone, then 3 chains of 2 on the first seed-example ones)."""
    from segments.services import segment_create, segment_go_live

    def live(name: str, definition: dict) -> int:
        return segment_go_live(segment=segment_create(name=name, definition=definition)).pk

    ids = [live(name, definition) for name, definition in segment_definitions(topics, countries)]
    middles = [live(f"chain {n}: in {ids[n]}", chain_middle(ids[n])) for n in range(3)]
    ends = [
        live(f"chain {n}: in {m}, not {ids[10 + n]}", chain_end(m, ids[10 + n]))
        for n, m in enumerate(middles)
    ]
    return ids + middles + ends


def forget_keys(prefix: str) -> None:
    from segments import pending

    client = pending.redis_client()
    for key in client.scan_iter(match=f"{prefix}*", count=1000):
        client.delete(key)


def compare(segment_ids: list[int]) -> tuple[int, int, list[str]]:
    """(differences, differences a relative window explains, one line per segment that differs)."""
    from segments.compiler import contacts_queryset
    from segments.live import live_index
    from segments.models import Segment, SegmentMembership

    index = live_index(fresh=True)
    differences = explained = 0
    lines = []
    for pk in sorted(segment_ids, key=lambda pk: (index.rank.get(pk, 0), pk)):
        segment = Segment.objects.get(pk=pk)
        expected = set(contacts_queryset(segment.definition).order_by().values_list("pk", flat=True))
        stored = set(SegmentMembership.objects.filter(segment_id=pk).values_list("contact_id", flat=True))
        differ = expected ^ stored
        moved = set()
        if differ and index.segments[pk].schedule:
            # Evaluated with the clock of its last full evaluation, does the stored membership hold?
            with mock.patch("django.utils.timezone.now", return_value=segment.refreshed_at):
                then = contacts_queryset(segment.definition)
            matched_then = set(then.filter(pk__in=list(differ)).values_list("pk", flat=True))
            moved = {c for c in differ if (c in matched_then) == (c in stored)}
        differences += len(differ - moved)
        explained += len(moved)
        if differ:
            lines.append(f"{segment.name}: {len(differ - moved)} differ, {len(moved)} by the moving window")
    return differences, explained, lines


def _beat(stop: threading.Event) -> None:
    """What beat does for segments meanwhile: the pending run every 30 s as a safety net."""
    from crm_core import tasking

    while not stop.wait(30):
        tasking.enqueue("segments.refresh_pending")


def _environment(args) -> tuple[str, str]:
    redis_url = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"
    prefix = f"bench-freshness-{uuid.uuid4().hex[:8]}:"
    os.environ.update(
        REDIS_URL=redis_url,
        CELERY_BROKER_URL=os.environ.get("CELERY_BROKER_URL", redis_url),
        CACHE_KEY_PREFIX=prefix,
        SEGMENTS_FRESHNESS_SAMPLES="20000000",
        LOG_LEVEL="WARNING",
    )
    return redis_url, prefix


def prepare(args) -> tuple[str, str, list[int], float]:
    """The scratch database with its 50 live segments filled; returns (url, queue, ids, fill seconds)."""
    print(f"copying the data set of {args.contacts:,} contacts into a scratch database ...")
    with timer() as copied:
        url = scratch_database(args.contacts)
    print(f"  copied in {copied():.1f}s")
    setup_django(url)
    from django.core.management import call_command
    from django.db import connection

    from config.celery_app import app
    from demo.vocabulary import COUNTRIES, lead_topics
    from segments.freshness import segments_refresh_live

    call_command("migrate", verbosity=0)
    queue = f"bench-freshness-{uuid.uuid4().hex[:8]}"
    app.conf.task_default_queue = queue
    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE segments_segmentmembershipevent, segments_segmentmembership, segments_segment CASCADE"
        )
    ids = create_segments(lead_topics(), COUNTRIES)
    print(f"filling {len(ids)} live segments ...")
    with timer() as filled:
        segments_refresh_live()
    forget_keys(os.environ["CACHE_KEY_PREFIX"])  # the go-live requests: done by the fill
    with app.connection_for_write() as conn:
        conn.default_channel.client.delete(queue)
    return url, queue, ids, filled()


def run(args, url: str, queue: str, ids: list[int]) -> dict:
    """Start the worker, send the stream, wait for the worker to be idle; returns what was measured."""
    from demo.vocabulary import COUNTRIES, lead_topics
    from segments import pending

    env = dict(os.environ, DATABASE_URL=url, CELERY_TASK_DEFAULT_QUEUE=queue)
    worker = start_worker(env, queue, args.concurrency, Path(f"/tmp/{queue}.log"))
    sampler, stop_beat = CpuSampler(url, worker.pid), threading.Event()
    measured: dict = {"log": f"/tmp/{queue}.log"}
    try:
        sampler.start()
        threading.Thread(target=_beat, args=(stop_beat,), daemon=True).start()
        stream = Stream(topics=lead_topics(), countries=COUNTRIES)
        print(
            f"worker ready ({args.concurrency} processes); {args.rate:g} changes/s for {args.seconds:g}s ..."
        )
        measured["elapsed"] = stream.run(rate=args.rate, seconds=args.seconds, writers=args.writers)
        measured["backlog"] = backlog(queue)
        measured["cpu"] = dict(sampler.total)
        measured["active"] = statistics.fmean(sampler.active_samples or [0])
        measured["drained"] = wait_idle(queue, ids, timeout=args.timeout)
        measured["stream"] = stream
        client = pending.redis_client()
        measured["latencies"] = [float(v) for v in client.lrange(pending.latency_key(), 0, -1)]
        measured["runs"] = {k.decode(): int(v) for k, v in client.hgetall(pending.stats_key()).items()}
    finally:
        stop_beat.set()
        sampler.stop.set()
        stop_worker(worker)
    return measured


def print_report(args, measured: dict, fill_seconds: float, compared: tuple[int, int, list[str]]) -> None:
    stream, seconds, latencies = measured["stream"], measured["elapsed"], measured["latencies"]
    changes, failed = sum(stream.done.values()), sum(stream.errors.values())
    cores = os.cpu_count() or 1
    database, worker = measured["cpu"]["database"], measured["cpu"]["worker"]
    queued, dirty, anchors = measured["backlog"]
    runs = measured["runs"]
    differences, explained, lines = compared

    def pct(p: float) -> str:
        return f"{percentile(latencies, p):.2f}s"

    report(
        f"freshness: {args.contacts:,} contacts, 50 live segments, {args.rate:g} changes/s for "
        f"{args.seconds:g}s ({args.concurrency} worker processes, {args.writers} writers)",
        [
            ("initial fill (50 segments, in full)", f"{fill_seconds:.1f}s"),
            (
                "changes sent",
                f"{changes:,} in {seconds:.1f}s ({changes / seconds:.1f}/s); failed {failed:,} "
                f"{dict(sorted(stream.errors.items())) if failed else ''}",
            ),
            (
                "writers behind schedule",
                f"{len(stream.lag):,} times, at most {max(stream.lag, default=0):.2f}s",
            ),
            (
                "freshness, commit -> membership",
                f"p50 {pct(50)}  p95 {pct(95)}  p99 {pct(99)}  "
                f"max {max(latencies, default=float('nan')):.2f}s  "
                f"({len(latencies):,} segment x record samples; goal p99 < 5 s)",
            ),
            (
                "database CPU during the stream",
                f"{database:.1f} core-s = {database / seconds / cores:.0%} of "
                f"{cores} cores; {measured['active']:.2f} active backends on average",
            ),
            (
                "worker CPU during the stream",
                f"{worker:.1f} core-s = {worker / seconds / cores:.0%} of {cores} cores",
            ),
            (
                "backlog when the stream ended",
                f"{sum(queued.values())} queued tasks {dict(sorted(queued.items()))}; "
                f"{dirty} segments with {anchors:,} anchors pending",
            ),
            (
                "evaluations (incremental / full)",
                f"{runs.get('incremental', 0):,} / {runs.get('full', 0):,}; "
                f"{runs.get('contacts', 0) / max(1, runs.get('incremental', 0)):.1f} contacts each",
            ),
            ("worker idle after the stream", f"{measured['drained']:.1f}s"),
            (
                "full evaluation vs stored membership",
                f"{differences} differences (goal 0); {explained} more "
                "explained by relative windows that moved since the last full evaluation",
            ),
            *((f"  {line.split(':')[0]}", line.split(":", 1)[1]) for line in lines),
        ],
    )


def print_explained(ids: list[int], contacts: int, path: Path) -> None:
    """Each segment's incremental statement for `contacts` contacts: time and what is flagged."""
    from bench._freshness_explain import explain_increments

    explained = explain_increments(ids, contacts=contacts)
    path.write_text("\n\n".join(f"-- {pk} {name}\n{plan}" for pk, name, _, _, plan in explained))
    times = [ms for _, _, ms, _, _ in explained]
    report(
        f"incremental statements, {contacts} contacts each (plans: {path})",
        [
            ("total / slowest", f"{sum(times):.0f} ms / {max(times, default=0):.0f} ms"),
            *((f"{pk} {name[:36]}", f"{ms:8.1f} ms  {', '.join(found) or '-'}")
              for pk, name, ms, found, _ in explained),
        ],
    )  # fmt: skip


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench freshness", description=__doc__)
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--seconds", type=float, default=120)
    parser.add_argument("--rate", type=float, default=100, help="changes per second")
    parser.add_argument("--concurrency", type=int, default=2, help="worker processes")
    parser.add_argument("--writers", type=int, default=4, help="threads sending the changes")
    parser.add_argument("--timeout", type=float, default=600, help="for the worker to catch up")
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    parser.add_argument(
        "--explain",
        type=int,
        default=0,
        metavar="N",
        help="before the stream, EXPLAIN ANALYZE each segment's incremental statement for N contacts",
    )
    args = parser.parse_args(argv)
    _, prefix = _environment(args)
    url, queue, ids, fill_seconds = prepare(args)
    try:
        if args.explain:
            print_explained(ids, args.explain, Path(f"/tmp/{queue}-plans.txt"))
        measured = run(args, url, queue, ids)
        print(
            f"worker idle; comparing every segment with a full evaluation (worker log: {measured['log']}) ..."
        )
        compared = compare(ids)
        print_report(args, measured, fill_seconds, compared)
    finally:
        from django.db import connections

        forget_keys(prefix)
        connections.close_all()
        if not args.keep:
            drop_database(url)
    return 0 if compared[0] == 0 else 1
