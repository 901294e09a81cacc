"""Keyset pages for the UI's lists: one helper so every list pages the same way (no COUNT, no OFFSET).

A page may hold several lists (the account page: contacts, leads, opportunities); each one reads
its own cursor parameter, and the links it builds keep the other lists' cursors and the filters.
"""

from dataclasses import dataclass

from django.db.models import QuerySet

from crm_core.keyset import InvalidCursor, cursor_decode, cursor_encode, keyset_page

OUTDATED_CURSOR = "This page link is out of date; start again from the first page."


@dataclass
class Section:
    rows: list
    next_link: str | None
    previous_link: str | None

    @property
    def paged(self) -> bool:
        return bool(self.next_link or self.previous_link)


def keyset_section(
    request, queryset: QuerySet, *, ordering: tuple[str, ...], size: int, param: str = "cursor"
) -> Section:
    """One page of `queryset`, from the cursor in `request.GET[param]`; raises InvalidCursor."""
    token = request.GET.get(param) or ""
    cursor = cursor_decode(token, ordering=ordering) if token else None
    page = keyset_page(queryset, ordering=ordering, cursor=cursor, size=size)

    def link(target):
        if target is None:
            return None
        query = request.GET.copy()
        query.pop(param, None)
        if target.position is not None or target.reverse:
            query[param] = cursor_encode(target)
        return f"?{query.urlencode()}"

    return Section(
        rows=page.rows, next_link=link(page.next_cursor()), previous_link=link(page.previous_cursor())
    )


def form_keyset_section(
    request, form, queryset: QuerySet, *, ordering: tuple[str, ...], size: int
) -> Section | None:
    """`keyset_section` for a list page filtered by `form`: an outdated or forged cursor becomes the
    form's `cursor` error and None (the page then answers 400 with the form)."""
    try:
        return keyset_section(request, queryset, ordering=ordering, size=size)
    except InvalidCursor:
        form.add_error("cursor", OUTDATED_CURSOR)
        return None


__all__ = ["OUTDATED_CURSOR", "InvalidCursor", "Section", "form_keyset_section", "keyset_section"]
