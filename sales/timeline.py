"""One record's history in time order: interactions, activities, tasks (created and done), lead status
changes, sales-ready crossings, segment joins and leaves and consent changes, merged into one list.

Each source is a keyset query, newest first, on an index led by the record (`(contact, occurred_at,
id)` and so on) with a LIMIT of one more than the page, so a page reads at most `size + 1` rows per
source whatever the record's history (5,000 events or 5 million). The pages are merged in Python by
(time, kind, id), all descending; the cursor is the last row's (time, kind, id), and each source
continues strictly after it:

    kind <  cursor kind:  time <= t
    kind == cursor kind:  time < t OR (time = t AND id < i)
    kind >  cursor kind:  time < t

so ties in time across sources are neither lost nor repeated. No OFFSET, no COUNT.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from django.db.models import F, Q, QuerySet
from django.utils.dateparse import parse_datetime

from crm_core.models import ConsentChange, Contact, Interaction, Lead, LeadStatusChange
from leadscoring.selectors import sales_ready_crossings
from segments.selectors import membership_events

from .models import Activity, Task
from .wording import interaction_words

PAGE_SIZE = 25
KINDS = {
    "interaction": "Interactions",
    "activity": "Activities",
    "task": "Tasks",
    "task_done": "Tasks done",
    "status": "Status changes",
    "score": "Score crossings",
    "segment": "Segments",
    "consent": "Consent",
}
ENTRY_LABELS = {
    "interaction": "Interaction",
    "activity": "Activity",
    "task": "Task",
    "task_done": "Task done",
    "status": "Status",
    "score": "Score",
    "segment": "Segment",
    "consent": "Consent",
}
FILTERS = {  # what the page's kind filter offers (a task's creation and completion go together)
    "interaction": ("interaction",),
    "activity": ("activity",),
    "task": ("task", "task_done"),
    "status": ("status",),
    "score": ("score",),
    "segment": ("segment",),
    "consent": ("consent",),
}
ENTITIES = ("contact", "lead", "account")


class InvalidTimeline(ValueError):
    """A bad cursor or kind: the caller answers 400."""


@dataclass(frozen=True)
class Entry:
    kind: str
    at: datetime
    id: int
    title: str
    detail: str = ""
    who: str = ""

    @property
    def kind_label(self) -> str:
        return ENTRY_LABELS[self.kind]


@dataclass(frozen=True)
class TimelinePage:
    entries: list[Entry]
    next_cursor: str | None


@dataclass(frozen=True)
class Scope:
    """Which rows of each source belong to the record."""

    contact_ids: QuerySet | list[int] | None  # interactions, segment events, consent changes
    lead_ids: QuerySet | list[int] | None  # status changes, crossings
    own: Q  # activities and tasks (denormalised contact/lead/account columns)


def scope_for(entity: str, pk: int) -> Scope:
    if entity == "contact":
        return Scope(
            contact_ids=[pk],
            lead_ids=Lead.objects.filter(parent_contact_id=pk).values("pk"),
            own=Q(contact_id=pk),
        )
    if entity == "lead":
        contact_id = Lead.objects.filter(pk=pk).values_list("parent_contact_id", flat=True).first()
        return Scope(contact_ids=[contact_id] if contact_id else [], lead_ids=[pk], own=Q(lead_id=pk))
    if entity == "account":
        contacts = Contact.objects.filter(parent_account_id=pk).values("pk")
        # The account's leads and its contacts' leads: two index reads (an OR across the join would
        # scan every lead).
        lead_ids = set(Lead.objects.filter(parent_account_id=pk).values_list("pk", flat=True))
        lead_ids.update(
            Lead.objects.filter(parent_contact__parent_account_id=pk).values_list("pk", flat=True)
        )
        return Scope(contact_ids=contacts, lead_ids=sorted(lead_ids), own=Q(account_id=pk))
    raise InvalidTimeline(f"No timeline for {entity!r}.")


def _in(field: str, ids) -> Q:
    if isinstance(ids, list) and len(ids) == 1:
        return Q(**{field: ids[0]})
    return Q(**{f"{field}__in": ids})


def _user(name) -> str:
    return name or ""


# Each source: (queryset for the scope, its time field, a row -> Entry function).
def _interactions(scope: Scope):
    rows = Interaction.objects.filter(_in("contact_id", scope.contact_ids)).values(
        "id", "kind", "occurred_at", "properties"
    )
    return (
        rows,
        "occurred_at",
        lambda r: Entry(
            "interaction", r["occurred_at"], r["id"], interaction_words(r["kind"], r["properties"])
        ),
    )


def _activities(scope: Scope):
    rows = Activity.objects.filter(scope.own).values(
        "id",
        "kind",
        "subject",
        "body",
        "outcome",
        "duration_minutes",
        "attendees",
        "occurred_at",
        "author__username",
    )

    def entry(r):
        parts = []
        if r["outcome"]:
            parts.append(dict(Activity._meta.get_field("outcome").choices)[r["outcome"]])
        if r["duration_minutes"] is not None:
            parts.append(f"{r['duration_minutes']} min")
        if r["attendees"]:
            parts.append(
                "with " + ", ".join(line.strip() for line in r["attendees"].splitlines() if line.strip())
            )
        if r["body"]:
            parts.append(r["body"][:200])
        kind = dict(Activity._meta.get_field("kind").choices)[r["kind"]]
        return Entry(
            "activity",
            r["occurred_at"],
            r["id"],
            f"{kind}: {r['subject']}",
            " · ".join(parts),
            _user(r["author__username"]),
        )

    return rows, "occurred_at", entry


def _tasks(scope: Scope):
    rows = Task.objects.filter(scope.own).values(
        "id", "title", "due_at", "created_at", "owner__username", "source"
    )

    def entry(r):
        due = f"due {r['due_at']:%Y-%m-%d %H:%M}" if r["due_at"] else ""
        source = dict(Task._meta.get_field("source").choices)[r["source"]]
        return Entry(
            "task",
            r["created_at"],
            r["id"],
            f"Task: {r['title']}",
            " · ".join(filter(None, [due, source])),
            _user(r["owner__username"]),
        )

    return rows, "created_at", entry


def _tasks_done(scope: Scope):
    rows = Task.objects.filter(scope.own, done_at__isnull=False).values(
        "id", "title", "done_at", "done_by__username"
    )
    return (
        rows,
        "done_at",
        lambda r: Entry(
            "task_done", r["done_at"], r["id"], f"Task done: {r['title']}", "", _user(r["done_by__username"])
        ),
    )


def _status(scope: Scope):
    rows = LeadStatusChange.objects.filter(_in("lead_id", scope.lead_ids)).values(
        "id", "from_status", "to_status", "reason", "changed_at", "actor__username", "lead__topic"
    )
    labels = dict(LeadStatusChange._meta.get_field("to_status").choices)

    def entry(r):
        moved = (
            f"{labels.get(r['from_status'], r['from_status'])} → {labels.get(r['to_status'], r['to_status'])}"
        )
        title = f"Lead “{r['lead__topic']}”: {moved}"
        return Entry(
            "status", r["changed_at"], r["id"], title, r["reason"][:200], _user(r["actor__username"])
        )

    return rows, "changed_at", entry


def _score(scope: Scope):
    rows = sales_ready_crossings(lead_ids=scope.lead_ids)

    def entry(r):
        verb = "became sales ready" if r["direction"] == "up" else "fell below sales ready"
        return Entry(
            "score",
            r["crossed_at"],
            r["id"],
            f"Lead “{r['lead__topic']}” {verb} at {r['score']}",
            f"scoring model {r['model__name']}",
        )

    return rows, "crossed_at", entry


def _segments(scope: Scope):
    rows = membership_events(contact_ids=scope.contact_ids)
    return (
        rows,
        "at",
        lambda r: Entry(
            "segment",
            r["at"],
            r["id"],
            f"{'Joined' if r['change'] == 'joined' else 'Left'} segment “{r['segment__name']}”",
        ),
    )


def _consent(scope: Scope):
    rows = ConsentChange.objects.filter(_in("contact_id", scope.contact_ids)).values(
        "id",
        "field",
        "old_value",
        "new_value",
        "source",
        "changed_at",
        "actor__username",
        "subscription_list__name",
    )

    def entry(r):
        what = (
            f"list “{r['subscription_list__name']}”" if r["field"] == "list" else r["field"].replace("_", " ")
        )
        return Entry(
            "consent",
            r["changed_at"],
            r["id"],
            f"Consent: {what} {r['old_value'] or '–'} → {r['new_value'] or '–'}",
            dict(ConsentChange._meta.get_field("source").choices).get(r["source"], r["source"]),
            _user(r["actor__username"]),
        )

    return rows, "changed_at", entry


SOURCES: dict[str, Callable] = {
    "interaction": _interactions,
    "activity": _activities,
    "task": _tasks,
    "task_done": _tasks_done,
    "status": _status,
    "score": _score,
    "segment": _segments,
    "consent": _consent,
}


def cursor_encode(entry: Entry) -> str:
    payload = [entry.at.isoformat(), entry.kind, entry.id]
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode()


def cursor_decode(token: str) -> tuple[datetime, str, int]:
    try:
        at, kind, pk = json.loads(base64.urlsafe_b64decode(token.encode("ascii")))
        when = parse_datetime(at)
        if (
            when is None
            or when.tzinfo is None
            or kind not in SOURCES
            or not isinstance(pk, int)
            or isinstance(pk, bool)
        ):
            raise ValueError(at)
        if not -(2**63) <= pk < 2**63:
            raise ValueError(pk)
    except (TypeError, ValueError, UnicodeEncodeError, binascii.Error) as exc:
        raise InvalidTimeline("This page link is outdated or invalid; start from the first page.") from exc
    return when, kind, pk


def kinds_from(values: list[str]) -> tuple[str, ...]:
    """The source kinds a filter (`?kind=activity&kind=task`) selects; nothing = all. Unknown: 400."""
    unknown = sorted(set(values) - set(FILTERS))
    if unknown:
        raise InvalidTimeline(f"Unknown kind {unknown[0]!r}; choose from {', '.join(FILTERS)}.")
    if not values:
        return tuple(SOURCES)
    return tuple(kind for value in values for kind in FILTERS[value])


def _after(queryset: QuerySet, field: str, kind: str, cursor) -> QuerySet:
    if cursor is None:
        return queryset
    at, cursor_kind, pk = cursor
    if kind < cursor_kind:
        return queryset.filter(**{f"{field}__lte": at})
    if kind > cursor_kind:
        return queryset.filter(**{f"{field}__lt": at})
    return queryset.filter(Q(**{f"{field}__lt": at}) | Q(**{field: at, "id__lt": pk})).filter(
        **{f"{field}__lte": at}
    )


def source_queries(entity: str, pk: int, *, kinds=None, cursor: str | None = None, size: int = PAGE_SIZE):
    """The per-source querysets of one page (for the page itself and for EXPLAIN checks)."""
    position = cursor_decode(cursor) if cursor else None
    scope = scope_for(entity, pk)
    out = []
    for kind in kinds or SOURCES:
        rows, field, entry = SOURCES[kind](scope)
        rows = _after(rows, field, kind, position).order_by(F(field).desc(), F("id").desc())[: size + 1]
        out.append((kind, field, rows, entry))
    return out


def timeline_page(
    entity: str, pk: int, *, kinds=None, cursor: str | None = None, size: int = PAGE_SIZE
) -> TimelinePage:
    """One page of the record's timeline, newest first; one query per selected source."""
    entries: list[Entry] = []
    for _kind, _field, rows, entry in source_queries(entity, pk, kinds=kinds, cursor=cursor, size=size):
        entries.extend(entry(row) for row in rows)
    entries.sort(key=lambda e: (e.at, e.kind, e.id), reverse=True)
    page = entries[:size]
    more = len(entries) > size
    return TimelinePage(entries=page, next_cursor=cursor_encode(page[-1]) if more and page else None)
