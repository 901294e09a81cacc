"""`bench freshness --explain`: EXPLAIN (ANALYZE, BUFFERS) of every live segment's incremental statement.

Each segment's one diff statement (segments/refresh_sql.py `diff_statement`) for a sample of contacts,
run and rolled back, with what would make an increment slow at a million contacts flagged: a
sequential scan of a big table (an increment must read its contacts by key), a sort or hash that
spilled to disk, a subplan run once per row of a big relation (the definition evaluated again per
member), and JIT compilation (its cost is paid per statement, whatever the statement reads).
"""

from __future__ import annotations

import random
import re

# Tables an increment must never read in full at a million contacts.
BIG = ("crm_core_contact", "crm_core_interaction", "crm_core_lead", "segments_segmentmembership")
_FLAGS = [
    (re.compile(rf"Seq Scan on ({'|'.join(BIG)})"), "seq scan of {0}"),
    (re.compile(r"Disk(?: Usage)?: \d+kB"), "spilled to disk"),
    (re.compile(r"external (?:merge|sort)"), "spilled to disk"),
    (re.compile(r"JIT:"), "JIT"),
]


def flags(plan: str) -> list[str]:
    found = {label.format(*m.groups()) for pattern, label in _FLAGS for m in pattern.finditer(plan)}
    for line in plan.splitlines():
        loops = re.search(r"\(actual .*? loops=(\d+)\)", line)
        if loops and int(loops.group(1)) > 10_000:
            found.add(f"a node run {int(loops.group(1)):,} times")
    return sorted(found)


def explain_increments(segment_ids: list[int], *, contacts: int = 100, seed: int = 5) -> list[tuple]:
    """(segment id, name, execution ms, flags, plan) per segment, for `contacts` random contacts."""
    from django.db import connection, transaction
    from django.utils import timezone

    from crm_core.models import Contact
    from segments.compiler import contacts_queryset
    from segments.models import Segment
    from segments.refresh_sql import diff_statement

    low = Contact.objects.order_by("pk").values_list("pk", flat=True).first() or 0
    high = Contact.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    ids = sorted(random.Random(seed).sample(range(low, high + 1), min(contacts, high - low + 1)))
    found = []
    for segment in Segment.objects.filter(pk__in=segment_ids).order_by("pk"):
        sql, params = diff_statement(
            segment_id=segment.pk,
            members=contacts_queryset(segment.definition),
            now=timezone.now(),
            contact_ids=ids,
            changed_limit=50_000,
        )
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
            plan = "\n".join(row[0] for row in cursor.fetchall())
            transaction.set_rollback(True)
        ms = float(re.search(r"Execution Time: ([\d.]+)", plan).group(1))
        found.append((segment.pk, segment.name, ms, flags(plan), plan))
    return found
