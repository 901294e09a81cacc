"""Pagination for the API: cursor pages for the large lists, numbered pages elsewhere."""

from rest_framework.pagination import CursorPagination, PageNumberPagination

MAX_PAGE_SIZE = 500


class LargeListPagination(CursorPagination):
    """Keyset pages (no COUNT, no OFFSET): contacts, leads, interactions, segment members."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = MAX_PAGE_SIZE
    ordering = "-id"


class StandardPagination(PageNumberPagination):
    """Numbered pages with a count, for lists that stay small."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = MAX_PAGE_SIZE
