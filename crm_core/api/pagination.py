"""How the API's lists page: numbered pages with a count for the small lists, keyset (cursor) pages
for the large ones (contacts, leads, interactions, segment members, activities, tasks).

Keyset pages over a composite key (`KeysetPagination`, built on `crm_core.keyset`): DRF's
CursorPagination keeps only the first ordering field in its cursor and walks ties with an OFFSET,
which degrades to a scan when many rows share a value (a score, a last name). Here the cursor holds
the whole key, e.g. (score, id), and the next page is

    WHERE score >= s AND (score > s OR (score = s AND id > i)) ORDER BY score, id LIMIT n+1

whose first condition lets PostgreSQL start from the index on `score`. No COUNT and no OFFSET: a
page costs the same on page 1 and on page 20,000. The cursor also records the ordering it was made
for; a cursor used under a different `?ordering=` is refused like any other invalid cursor.
"""

from __future__ import annotations

from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import CursorPagination, PageNumberPagination
from rest_framework.utils.urls import remove_query_param, replace_query_param

from crm_core.keyset import Cursor, InvalidCursor, cursor_decode, cursor_encode, keyset_page

from .ordering import DEFAULT_ORDERING, KeysetOrderingFilter, with_tie_breaker

MAX_PAGE_SIZE = 500


class StrictPageSizeMixin:
    """`page_size` is a whole number of at least 1 (larger than the maximum reads as the maximum) or a
    400: DRF's own reading falls back to the default for anything else (`page_size=false` got 50 rows),
    hiding the client's mistake."""

    def get_page_size(self, request):
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        if not (raw.isascii() and raw.isdigit()) or int(raw) < 1:
            raise ValidationError({self.page_size_query_param: ["A whole number of at least 1."]})
        return min(int(raw), self.max_page_size)


class LargeListPagination(StrictPageSizeMixin, CursorPagination):
    """Keyset pages (no COUNT, no OFFSET): contacts, leads, interactions, segment members."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = MAX_PAGE_SIZE
    ordering = "-id"


class StandardPagination(StrictPageSizeMixin, PageNumberPagination):
    """Numbered pages with a count, for lists that stay small."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = MAX_PAGE_SIZE


class KeysetPagination(LargeListPagination):
    """LargeListPagination whose cursor is the full sort key (ordering field + id)."""

    invalid_cursor_message = "Invalid cursor."

    def get_ordering(self, request, queryset, view):
        for backend in getattr(view, "filter_backends", ()):
            if isinstance(backend, type) and issubclass(backend, KeysetOrderingFilter):
                return tuple(backend().get_ordering(request, queryset, view))
        ordering = self.ordering or DEFAULT_ORDERING[0]
        return with_tie_breaker(ordering if isinstance(ordering, str) else ordering[0])

    def encode_cursor(self, cursor: Cursor | None) -> str | None:
        if cursor is None:
            return None
        if cursor.position is None and not cursor.reverse:
            return remove_query_param(self.base_url, self.cursor_query_param)
        return replace_query_param(self.base_url, self.cursor_query_param, cursor_encode(cursor))

    def decode_cursor(self, request) -> Cursor | None:
        encoded = request.query_params.get(self.cursor_query_param)
        if encoded is None:
            return None
        try:
            return cursor_decode(encoded, ordering=self.ordering)
        except InvalidCursor as exc:
            raise NotFound(self.invalid_cursor_message) from exc

    def paginate_queryset(self, queryset, request, view=None):
        self.request = request
        self.page_size = self.get_page_size(request)
        if not self.page_size:
            return None
        self.base_url = request.build_absolute_uri()
        self.ordering = self.get_ordering(request, queryset, view)
        cursor = self.decode_cursor(request)
        try:
            self.keyset = keyset_page(queryset, ordering=self.ordering, cursor=cursor, size=self.page_size)
        except InvalidCursor as exc:
            raise NotFound(self.invalid_cursor_message) from exc
        self.page = self.keyset.rows
        self.has_next, self.has_previous = self.keyset.has_next, self.keyset.has_previous
        return self.page

    def get_next_link(self):
        return self.encode_cursor(self.keyset.next_cursor())

    def get_previous_link(self):
        return self.encode_cursor(self.keyset.previous_cursor())
