"""The template language of journey emails: merge fields, the unsubscribe link, and links.

Marketers' templates are never run through a template engine. The only dynamic parts are merge
fields `{{ contact.first_name }}` (optionally `{{ contact.first_name|default:"there" }}`) from a
fixed list or a defined custom field (`{{ contact.custom.tier }}`), and `{{ unsubscribe_url }}`
(also as a link's whole href); anything else in `{{ }}` or any `{% %}` is refused when the step is
saved (`validate_email_config`).

Links are the `href` of `<a>` tags as the standard library's HTML parser reads them: the URL is the
unescaped attribute value (what a browser follows), which is what a TrackedLink stores and a click
redirects to. How a template becomes one contact's message is `journeys/engine/messages.py`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html import unescape
from html.parser import HTMLParser, attrfind_tolerant, tagfind_tolerant
from urllib.parse import urlsplit

MERGE_FIELDS = {
    "contact": ("first_name", "last_name", "email", "job_title", "city", "country"),
    "account": ("name", "industry", "website", "country"),
    "lead": ("topic", "company_name"),
}

TEMPLATE_TAG = re.compile(r"\{\{(.*?)\}\}|\{%.*?%\}", re.S)  # group 1: inside {{ }}; None for {% %}
# `{{ contact.custom.<key> }}` (also account. and lead.) is a custom field's value.
MERGE_REFERENCE = re.compile(
    r'^\s*([a-z_]+)\.((?:custom\.)?[a-z][a-z0-9_]*)\s*(?:\|\s*default\s*:\s*"([^"{}]*)")?\s*$'
)
CUSTOM_PREFIX = "custom."
UNSUBSCRIBE_REFERENCE = re.compile(r"^\s*unsubscribe_url\s*$")


# --- Validation ---------------------------------------------------------------------------------


def validate_email_config(config: dict) -> dict[str, str]:
    """Problems of a send-email step's content as {key: message}; empty when it is fine."""
    errors: dict[str, str] = {}
    subject, html, text = config.get("subject"), config.get("html"), config.get("text", "")
    if not isinstance(subject, str) or not subject.strip():
        errors["subject"] = "a subject is required"
    if not isinstance(html, str) or not html.strip():
        errors["html"] = "an HTML body is required"
    if not isinstance(text, str):
        errors["text"] = "the text part must be a string"
    for key in ("subject", "html", "text"):
        value = config.get(key)
        if isinstance(value, str) and key not in errors:
            problem = template_problem(value)
            if problem:
                errors[key] = problem
    if isinstance(html, str) and "html" not in errors:
        for href in anchor_hrefs(html):
            written = html[href.start : href.end]
            if _is_unsubscribe_tag(written):
                continue  # the unsubscribe link: rendered as the contact's subscription center URL
            if "{{" in written or "{%" in written:
                errors["html"] = f"merge fields are not allowed inside links: {written!r}"
            elif is_trackable(href.url) and not urlsplit(href.url).netloc:
                errors["html"] = f"link {href.url!r} has no host"
    return errors


def _is_unsubscribe_tag(written: str) -> bool:
    match = TEMPLATE_TAG.fullmatch(written.strip())
    return bool(match and match.group(1) is not None and UNSUBSCRIBE_REFERENCE.match(match.group(1)))


def template_problem(value: str) -> str | None:
    for match in TEMPLATE_TAG.finditer(value):
        if match.group(1) is None:
            return f"template tags are not supported: {match.group(0)!r}"
        inner = match.group(1)
        if UNSUBSCRIBE_REFERENCE.match(inner):
            continue
        merge = MERGE_REFERENCE.match(inner)
        if not merge or not _merge_field_known(merge.group(1), merge.group(2)):
            allowed = ", ".join(f"{e}.{f}" for e, fs in MERGE_FIELDS.items() for f in fs)
            return (
                f"unknown merge field {match.group(0)!r}; allowed: {allowed}, "
                "<entity>.custom.<key> of a defined custom field, unsubscribe_url"
            )
    return None


def _merge_field_known(entity: str, field: str) -> bool:
    if field.startswith(CUSTOM_PREFIX):
        from crm_core.custom_fields import definition

        return entity in MERGE_FIELDS and definition(entity, field) is not None
    return field in MERGE_FIELDS.get(entity, ())


def custom_merge_fields(template: str) -> set[tuple[str, str]]:
    """The (entity, key) of each custom merge field a template uses."""
    found = set()
    for match in TEMPLATE_TAG.finditer(template):
        merge = MERGE_REFERENCE.match(match.group(1) or "")
        if merge and merge.group(2).startswith(CUSTOM_PREFIX):
            found.add((merge.group(1), merge.group(2).removeprefix(CUSTOM_PREFIX)))
    return found


def is_trackable(url: str) -> bool:
    """An http(s) link: the kind a tracked email rewrites (mailto:, tel:, anchors stay)."""
    return url.strip().lower().startswith(("http://", "https://"))


# --- Finding links --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Href:
    """The href of one `<a>` tag: where its value is written in the template (inside any quotes)
    and the URL it means."""

    start: int
    end: int
    url: str  # unescaped and stripped, as a browser reads it


class _AnchorFinder(HTMLParser):
    """Collects the href of every `<a>` start tag the parser meets (not in comments, scripts or
    attribute values), with where its value is written, so that it can be replaced in place."""

    def __init__(self, source: str):
        super().__init__(convert_charrefs=True)
        self.source = source
        self.line_starts = [0, *(m.end() for m in re.finditer("\n", source))]
        self.hrefs: list[Href] = []

    def handle_starttag(self, tag, attrs):
        if tag != "a":
            return
        value = next((v for name, v in attrs if name == "href"), None)
        if value is None:
            return
        line, column = self.getpos()
        at = self.line_starts[line - 1] + column
        written = self.get_starttag_text() or ""
        span = _href_value_span(written)
        if span is None or self.source[at : at + len(written)] != written:
            return  # never rewrite what cannot be placed exactly
        start, end = at + span[0], at + span[1]
        if unescape(self.source[start:end]) == value:
            self.hrefs.append(Href(start, end, value.strip()))


def _href_value_span(tag: str) -> tuple[int, int] | None:
    """Where the first href value sits in one start tag's text (inside its quotes), found with the
    tokenizer the HTML parser itself used for that tag, so both agree on which attribute it is."""
    position = tagfind_tolerant.match(tag, 1).end()
    while position < len(tag):
        match = attrfind_tolerant.match(tag, position)
        if not match:
            return None
        if match.group(1).lower() == "href":
            if match.group(3) is None:
                return None
            start, end = match.span(3)
            if end - start >= 2 and tag[start] == tag[end - 1] and tag[start] in "'\"":
                start, end = start + 1, end - 1
            return start, end
        position = match.end()
    return None


def anchor_hrefs(html: str) -> list[Href]:
    """Every `<a href>` of an HTML body, in order."""
    finder = _AnchorFinder(html)
    finder.feed(html)
    finder.close()
    return finder.hrefs


def extract_links(html: str) -> list[str]:
    """The http(s) URLs of an HTML body's links in order (unescaped): each becomes a TrackedLink."""
    return [href.url for href in anchor_hrefs(html) if is_trackable(href.url)]
