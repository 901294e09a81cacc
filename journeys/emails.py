"""Journey emails: merge fields, tracked links, open pixel, unsubscribe link.

Marketers' templates are never run through a template engine. The only dynamic parts are merge
fields `{{ contact.first_name }}` (optionally `{{ contact.first_name|default:"there" }}`) from a
fixed list, and `{{ unsubscribe_url }}`; anything else in `{{ }}` or any `{% %}` is refused when
the step is saved. Values are HTML-escaped in the HTML part.

A template is prepared once per step into literal parts, merge references and link placeholders;
rendering one recipient is a join. Links are the `href` of `<a>` tags as the standard library's
HTML parser reads them: the URL is the unescaped attribute value (what a browser follows), which is
what a TrackedLink stores and a click redirects to. A tracked email writes its click URLs escaped
into the href; an untracked one (the contact does not allow tracking) keeps each href exactly as
the marketer wrote it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html import unescape
from html.parser import HTMLParser, attrfind_tolerant, tagfind_tolerant
from urllib.parse import urlsplit

from django.conf import settings
from django.core import signing
from django.core.mail import EmailMultiAlternatives
from django.utils.html import escape, strip_tags

from . import adapters

MERGE_FIELDS = {
    "contact": ("first_name", "last_name", "email", "job_title", "city", "country"),
    "account": ("name", "industry", "website", "country"),
    "lead": ("topic", "company_name"),
}
UNSUBSCRIBE = "unsubscribe_url"

_TAG = re.compile(r"\{\{(.*?)\}\}|\{%.*?%\}", re.S)
_MERGE = re.compile(r'^\s*([a-z_]+)\.([a-z_]+)\s*(?:\|\s*default\s*:\s*"([^"{}]*)")?\s*$')
_UNSUB = re.compile(r"^\s*unsubscribe_url\s*$")

TRACKING_SALT = "journeys.tracking"


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
            problem = _template_problem(value)
            if problem:
                errors[key] = problem
    if isinstance(html, str) and "html" not in errors:
        for href in anchor_hrefs(html):
            written = html[href.start : href.end]
            if "{{" in written or "{%" in written:
                errors["html"] = f"merge fields are not allowed inside links: {written!r}"
            elif _is_trackable(href.url) and not urlsplit(href.url).netloc:
                errors["html"] = f"link {href.url!r} has no host"
    return errors


def _template_problem(value: str) -> str | None:
    for match in _TAG.finditer(value):
        if match.group(1) is None:
            return f"template tags are not supported: {match.group(0)!r}"
        inner = match.group(1)
        if _UNSUB.match(inner):
            continue
        merge = _MERGE.match(inner)
        if not merge or merge.group(2) not in MERGE_FIELDS.get(merge.group(1), ()):
            allowed = ", ".join(f"{e}.{f}" for e, fs in MERGE_FIELDS.items() for f in fs)
            return f"unknown merge field {match.group(0)!r}; allowed: {allowed}, unsubscribe_url"
    return None


def _is_trackable(url: str) -> bool:
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
    return [href.url for href in anchor_hrefs(html) if _is_trackable(href.url)]


# --- Preparing and rendering -------------------------------------------------------------------


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
    for match in _TAG.finditer(source):
        parts += _literal(source[position : match.start()], written)
        inner = match.group(1) or ""
        if _UNSUB.match(inner):
            parts.append(Unsubscribe())
        else:
            merge = _MERGE.match(inner)
            parts.append(Merge(merge.group(1), merge.group(2), merge.group(3) or ""))
        position = match.end()
    parts += _literal(source[position:], written)
    return parts


def _mark_links(html: str) -> tuple[str, list[str]]:
    """The template with each trackable href value replaced by a marker (merge fields are split
    around them next), and each value as written."""
    out, written, at = [], [], 0
    for href in anchor_hrefs(html):
        if not _is_trackable(href.url):
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
# changing n can only pick another link of the same email, never a URL of the sender's choosing.


def email_signature(outbox_id: int) -> str:
    return signing.Signer(salt=TRACKING_SALT).sign(_b36(outbox_id))


def open_token(outbox_id: int, signed: str | None = None) -> str:
    return signed or email_signature(outbox_id)


def click_token(outbox_id: int, position: int, signed: str | None = None) -> str:
    return f"{signed or email_signature(outbox_id)}-{_b36(position)}"


def read_open_token(token: str) -> int:
    """The outbox id of an open token; raises signing.BadSignature if forged."""
    return int(signing.Signer(salt=TRACKING_SALT).unsign(token), 36)


def read_click_token(token: str) -> tuple[int, int]:
    signed, _, position = token.rpartition("-")
    return read_open_token(signed), int(position, 36)


def _b36(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        number, rest = divmod(number, 36)
        out = digits[rest] + out
        if not number:
            return out


def _value(part: Merge, records: dict) -> str:
    record = records.get(part.entity)
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
