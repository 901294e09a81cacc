"""Pagination for the API: cursor pages for the large lists, numbered pages elsewhere."""

from rest_framework.exceptions import ValidationError
from rest_framework.pagination import CursorPagination, PageNumberPagination

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
