"""From a send-email step's template to the message one contact gets.

A template (its grammar is `journeys/email_templates.py`) is prepared once per step into literal
parts, merge references and link placeholders; rendering one recipient is a join. Values are
HTML-escaped in the HTML part. A tracked email writes its click URLs (`journeys/tracking_tokens.py`)
escaped into the href, plus an open pixel; an untracked one (the contact does not allow tracking)
keeps each href exactly as the marketer wrote it. `build_message` adds the headers: a Message-ID
stable per outbox row, and RFC 8058 one-click unsubscribe.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.utils.html import escape, strip_tags

from .. import adapters
from ..email_templates import (
    MERGE_REFERENCE,
    TEMPLATE_TAG,
    UNSUBSCRIBE_REFERENCE,
    anchor_hrefs,
    extract_links,
    is_trackable,
)
from ..tracking_tokens import click_token, email_signature, open_token


@dataclass(frozen=True)
class Merge:
    entity: str
    field: str
    default: str


@dataclass(frozen=True)
class Link:
    position: int  # the TrackedLink's position
    written: str  # the URL as the template writes it here (escaped in HTML): kept when not tracking


@dataclass(frozen=True)
class Unsubscribe:
    pass


@dataclass
class PreparedEmail:
    step_id: int
    subject: list
    html: list
    text: list
    has_unsubscribe: bool
    links: list[str] = field(default_factory=list)
    needs: set[str] = field(default_factory=set)


def _split(template: str, *, links: bool) -> list:
    """Literal strings, Merge, Unsubscribe and (for HTML) Link parts of a template."""
    parts: list = []
    position = 0
    source, written = _mark_links(template) if links else (template, [])
    for match in TEMPLATE_TAG.finditer(source):
        parts += _literal(source[position : match.start()], written)
        inner = match.group(1) or ""
        if UNSUBSCRIBE_REFERENCE.match(inner):
            parts.append(Unsubscribe())
        else:
            merge = MERGE_REFERENCE.match(inner)
            parts.append(Merge(merge.group(1), merge.group(2), merge.group(3) or ""))
        position = match.end()
    parts += _literal(source[position:], written)
    return parts


def _mark_links(html: str) -> tuple[str, list[str]]:
    """The template with each trackable href value replaced by a marker (merge fields are split
    around them next), and each value as written."""
    out, written, at = [], [], 0
    for href in anchor_hrefs(html):
        if not is_trackable(href.url):
            continue
        out += [html[at : href.start], f"\x00L{len(written)}\x00"]
        written.append(html[href.start : href.end])
        at = href.end
    out.append(html[at:])
    return "".join(out), written


def _literal(text: str, written: list[str]) -> list:
    out: list = []
    for index, chunk in enumerate(re.split(r"\x00L(\d+)\x00", text)):
        if index % 2:
            out.append(Link(int(chunk), written[int(chunk)]))
        elif chunk:
            out.append(chunk)
    return out


def prepare(step) -> PreparedEmail:
    config = step.config
    html = config["html"]
    text = config.get("text") or ""
    parts_html = _split(html, links=True)
    urls = extract_links(html)
    if text:
        parts_text = _split(text, links=False)
        # Tracked URLs in the text part: replace the exact link URLs, longest first.
        for position, url in sorted(enumerate(urls), key=lambda pair: -len(pair[1])):
            parts_text = _replace_url(parts_text, url, position)
    else:
        parts_text = _split(strip_tags(html), links=False)
    all_parts = parts_html + parts_text + _split(config["subject"], links=False)
    return PreparedEmail(
        step_id=step.pk,
        subject=_split(config["subject"], links=False),
        html=parts_html,
        text=parts_text,
        has_unsubscribe=any(isinstance(p, Unsubscribe) for p in parts_html),
        links=urls,
        needs={p.entity for p in all_parts if isinstance(p, Merge)},
    )


def _replace_url(parts: list, url: str, position: int) -> list:
    out: list = []
    for part in parts:
        if isinstance(part, str) and url in part:
            pieces = part.split(url)
            for index, piece in enumerate(pieces):
                if index:
                    out.append(Link(position, url))
                if piece:
                    out.append(piece)
        else:
            out.append(part)
    return out


# One signature per email covers its pixel and all its links: a click token is "<signed outbox>-<n>";


def _value(part: Merge, records: dict) -> str:
    record = records.get(part.entity)
    if part.field.startswith("custom."):  # a custom field: its stored value
        value = (
            (getattr(record, "custom", None) or {}).get(part.field.removeprefix("custom."))
            if record
            else None
        )
        if isinstance(value, bool):
            value = "Yes" if value else "No"
        elif isinstance(value, list):
            value = ", ".join(str(v) for v in value)
    else:
        value = getattr(record, part.field, "") if record is not None else ""
    return str(value) if value not in (None, "") else part.default


def render(
    prepared: PreparedEmail, *, outbox_id: int, records: dict, track: bool, unsubscribe_url: str | None = None
) -> tuple[str, str, str, str]:
    """(subject, html, text, unsubscribe_url) for one recipient. `records` maps contact/account/lead
    to model instances or anything with those attributes (or None). A sender of many emails passes
    the contact's `unsubscribe_url` (adapters.subscription_center_url_builder). `track` is the
    contact's consent to tracking (adapters.tracking_allowed): without it there is no pixel and
    every link is kept exactly as written."""
    site = settings.SITE_URL.rstrip("/")
    if unsubscribe_url is None:
        unsubscribe_url = adapters.subscription_center_url(records["contact"])
    signed = email_signature(outbox_id) if track else ""

    def link(part: Link, html: bool) -> str:
        if not track:
            return part.written
        url = f"{site}/t/c/{click_token(outbox_id, part.position, signed)}/"
        return escape(url) if html else url

    def join(parts: list, *, html: bool) -> str:
        out = []
        for part in parts:
            if isinstance(part, str):
                out.append(part)
            elif isinstance(part, Merge):
                value = _value(part, records)
                out.append(escape(value) if html else value)
            elif isinstance(part, Link):
                out.append(link(part, html))
            else:
                out.append(escape(unsubscribe_url) if html else unsubscribe_url)
        return "".join(out)

    subject = " ".join(join(prepared.subject, html=False).split())
    html = join(prepared.html, html=True)
    text = join(prepared.text, html=False)
    footer = ""
    if not prepared.has_unsubscribe:
        footer += (
            f'<p style="font-size:12px;color:#666"><a href="{escape(unsubscribe_url)}">'
            "Unsubscribe or change your email preferences</a></p>"
        )
    if track:
        footer += f'<img src="{site}/t/o/{open_token(outbox_id, signed)}.gif" width="1" height="1" alt="">'
    lowered = html.lower()
    at = lowered.rfind("</body>")
    html = html[:at] + footer + html[at:] if at >= 0 else html + footer
    text = f"{text.rstrip()}\n\n--\nUnsubscribe or change your email preferences: {unsubscribe_url}\n"
    return subject, html, text, unsubscribe_url


def build_message(
    prepared: PreparedEmail,
    *,
    outbox_id: int,
    to: str,
    records: dict,
    track: bool,
    unsubscribe_url: str | None = None,
) -> EmailMultiAlternatives:
    subject, html, text, unsubscribe_url = render(
        prepared, outbox_id=outbox_id, records=records, track=track, unsubscribe_url=unsubscribe_url
    )
    domain = urlsplit(settings.SITE_URL).hostname or "nurture.invalid"
    message = EmailMultiAlternatives(
        subject=subject,
        body=text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[to],
        headers={
            # Stable per outbox row: a resend after a crash carries the same Message-ID.
            "Message-ID": f"<journey-email-{outbox_id}@{domain}>",
            "List-Unsubscribe": f"<{adapters.one_click_unsubscribe_url(unsubscribe_url)}>",
            # RFC 8058 one-click: the mailbox provider POSTs "List-Unsubscribe=One-Click" to that URL.
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            "X-Nurture-Outbox": str(outbox_id),
        },
    )
    message.attach_alternative(html, "text/html")
    return message
