"""Saving landing pages: the page with its form fields, checked and sanitised, all or nothing."""

from __future__ import annotations

import nh3
from django.db import transaction

from ..models import FormField, LandingPage
from .definitions import check_definition, page_field_rows

ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "div", "em", "figure", "figcaption", "h1", "h2", "h3",
    "h4", "h5", "h6", "hr", "i", "img", "li", "ol", "p", "pre", "section", "small", "span", "strong",
    "sub", "sup", "table", "tbody", "td", "th", "thead", "tr", "u", "ul",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan"},
    "*": {"class"},
}


def content_sanitize(html: str) -> str:
    """Landing-page HTML with scripts, styles, event handlers and javascript: URLs removed."""
    return nh3.clean(
        html or "",
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer",
    )


def _fields_replace(*, page: LandingPage, fields: list[dict]) -> None:
    page.fields.all().delete()
    FormField.objects.bulk_create(
        [FormField(page=page, **{"position": index, **data}) for index, data in enumerate(fields)]
    )


@transaction.atomic
def landing_page_create(*, data: dict, fields: list[dict], created_by=None) -> LandingPage:
    """Create a page and its form; LandingPageInvalid (nothing saved) if the form is unsound."""
    page = LandingPage(**data, created_by=created_by)
    check_definition(fields=fields, contact_matching=page.contact_matching)
    page.content = content_sanitize(page.content)
    page.save()
    _fields_replace(page=page, fields=fields)
    return page


@transaction.atomic
def landing_page_update(*, page: LandingPage, data: dict, fields: list[dict] | None = None) -> LandingPage:
    """Change a page (and replace its form when `fields` is given); LandingPageInvalid (nothing
    saved) if the result is unsound, so a live page always identifies its contacts."""
    for name, value in data.items():
        setattr(page, name, value)
    rows = fields if fields is not None else page_field_rows(page.fields.all())
    check_definition(fields=rows, contact_matching=page.contact_matching)
    page.content = content_sanitize(page.content)
    page.save()
    if fields is not None:
        _fields_replace(page=page, fields=fields)
    return page
