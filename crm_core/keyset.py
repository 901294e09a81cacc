"""Keyset pages over a composite key, shared by the REST API and the web UI's large lists.

A page is "the next N rows after this key", never an OFFSET, and nothing is
counted, so page 20,000 costs what page 1 costs. The key is one orderable field
followed by the primary key (e.g. ("last_name", "id")), and the next page is

    WHERE f >= v AND (f > v OR (f = v AND id > i)) ORDER BY f, id LIMIT n+1

whose first, redundant, condition lets PostgreSQL start from the index on `f`.
A cursor records the ordering it was made for; a cursor used under another
ordering, or one that does not decode, is an `InvalidCursor`.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet


class InvalidCursor(ValueError):
    """A cursor that does not decode, or was made for another ordering."""


@dataclass(frozen=True)
class Cursor:
    reverse: bool
    position: tuple[str, ...] | None  # the key of the row the page starts after (before, if reverse)
    ordering: tuple[str, ...]


@dataclass(frozen=True)
class KeysetPage:
    rows: list
    has_next: bool
    has_previous: bool
    ordering: tuple[str, ...]

    def next_cursor(self) -> Cursor | None:
        if not self.has_next:
            return None
        if not self.rows:  # an empty page before the position: start again from the first page
            return Cursor(reverse=False, position=None, ordering=self.ordering)
        return Cursor(reverse=False, position=key_of(self.rows[-1], self.ordering), ordering=self.ordering)

    def previous_cursor(self) -> Cursor | None:
        if not self.has_previous:
            return None
        if not self.rows:  # an empty page after the last row: the previous page is the last one
            return Cursor(reverse=True, position=None, ordering=self.ordering)
        return Cursor(reverse=True, position=key_of(self.rows[0], self.ordering), ordering=self.ordering)


def cursor_encode(cursor: Cursor) -> str:
    payload = {"o": list(cursor.ordering), "r": int(cursor.reverse)}
    if cursor.position is not None:
        payload["p"] = list(cursor.position)
    return base64.urlsafe_b64encode(json.dumps(payload, separators=(",", ":")).encode()).decode()


def cursor_decode(token: str, *, ordering: tuple[str, ...]) -> Cursor:
    """The cursor in `token`, which must have been made for `ordering`."""
    try:
        payload = json.loads(base64.urlsafe_b64decode(token.encode("ascii")))
        made_for = tuple(payload["o"])
        reverse = bool(int(payload["r"]))
        position = payload.get("p")
        if position is not None:
            position = tuple(str(value) for value in position)
    except (TypeError, ValueError, KeyError, UnicodeEncodeError, binascii.Error, AttributeError) as exc:
        raise InvalidCursor("Invalid cursor.") from exc
    if made_for != tuple(ordering) or (position is not None and len(position) != len(ordering)):
        raise InvalidCursor("Invalid cursor.")
    if position is not None and any("\x00" in value for value in position):
        raise InvalidCursor("Invalid cursor.")  # no database text holds a NUL; ours never made it
    return Cursor(reverse=reverse, position=position, ordering=made_for)


def _key_fields(model, ordering):
    return [(model._meta.get_field(term.lstrip("-")), term.startswith("-")) for term in ordering]


def key_of(instance, ordering: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(field.value_to_string(instance) for field, _ in _key_fields(type(instance), ordering))


def rows_after(model, ordering: tuple[str, ...], position: tuple[str, ...], *, reverse: bool) -> Q:
    """Rows strictly after `position` in the (possibly reversed) key order."""
    keys = _key_fields(model, ordering)
    try:
        values = [field.to_python(raw) for (field, _), raw in zip(keys, position, strict=True)]
    except (ValidationError, ValueError) as exc:
        raise InvalidCursor("Invalid cursor.") from exc

    def op(descending: bool, strict: bool) -> str:
        ascending = descending == reverse
        return ("gt" if strict else "gte") if ascending else ("lt" if strict else "lte")

    condition = Q()
    for index, (field, descending) in enumerate(keys):
        step = Q(**{f"{field.name}__{op(descending, True)}": values[index]})
        for earlier, value in zip(keys[:index], values[:index], strict=True):
            step &= Q(**{earlier[0].name: value})
        condition |= step
    first_field, first_descending = keys[0]
    # Redundant, but it gives the planner an index range to start from.
    bound = Q(**{f"{first_field.name}__{op(first_descending, False)}": values[0]})
    return bound & condition


def keyset_page(
    queryset: QuerySet, *, ordering: tuple[str, ...], cursor: Cursor | None, size: int
) -> KeysetPage:
    """One page of `queryset` in `ordering`, starting after (or, reversed, before) the cursor."""
    reverse = bool(cursor and cursor.reverse)
    position = cursor.position if cursor else None
    flipped = [term[1:] if term.startswith("-") else f"-{term}" for term in ordering]
    queryset = queryset.order_by(*(flipped if reverse else ordering))
    if position is not None:
        queryset = queryset.filter(rows_after(queryset.model, ordering, position, reverse=reverse))
    rows = list(queryset[: size + 1])
    more = len(rows) > size
    rows = rows[:size]
    if reverse:
        rows.reverse()
        return KeysetPage(rows=rows, has_next=position is not None, has_previous=more, ordering=ordering)
    return KeysetPage(rows=rows, has_next=more, has_previous=position is not None, ordering=ordering)
