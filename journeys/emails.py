"""Journey emails: merge fields, tracked links, open pixel, unsubscribe link.

Marketers' templates are never run through a template engine. The only dynamic parts are merge
fields `{{ contact.first_name }}` (optionally `{{ contact.first_name|default:"there" }}`) from a
fixed list, and `{{ unsubscribe_url }}`; anything else in `{{ }}` or any `{% %}` is refused when
the step is saved. Values are HTML-escaped in the HTML part.

A template is prepared once per step into literal parts, merge references and link placeholders;
rendering one recipient is a join.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
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
_HREF = re.compile(r"""(<a\b[^>]*?\bhref\s*=\s*)(["'])(.*?)\2""", re.I | re.S)

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
        for _, _, url in _HREF.findall(html):
            if "{{" in url or "{%" in url:
                errors["html"] = f"merge fields are not allowed inside links: {url!r}"
            elif _is_trackable(url) and not urlsplit(url).netloc:
                errors["html"] = f"link {url!r} has no host"
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


def extract_links(html: str) -> list[str]:
    """The http(s) links of an HTML body in order: each becomes a TrackedLink."""
    return [url.strip() for _, _, url in _HREF.findall(html) if _is_trackable(url)]


# --- Preparing and rendering -------------------------------------------------------------------


@dataclass(frozen=True)
class Merge:
    entity: str
    field: str
    default: str


@dataclass(frozen=True)
class Link:
    position: int


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
    source = template
    if links:
        # Replace trackable hrefs first with markers, then split merge fields around them.
        counter = iter(range(10**6))

        def mark(match):
            url = match.group(3)
            if not _is_trackable(url):
                return match.group(0)
            return f"{match.group(1)}{match.group(2)}\x00L{next(counter)}\x00{match.group(2)}"

        source = _HREF.sub(mark, template)
    for match in _TAG.finditer(source):
        parts += _literal(source[position : match.start()])
        inner = match.group(1) or ""
        if _UNSUB.match(inner):
            parts.append(Unsubscribe())
        else:
            merge = _MERGE.match(inner)
            parts.append(Merge(merge.group(1), merge.group(2), merge.group(3) or ""))
        position = match.end()
    parts += _literal(source[position:])
    return parts


def _literal(text: str) -> list:
    out: list = []
    for index, chunk in enumerate(re.split(r"\x00L(\d+)\x00", text)):
        if index % 2:
            out.append(Link(int(chunk)))
        elif chunk:
            out.append(chunk)
    return out


def prepare(step) -> PreparedEmail:
    config = step.config
    html = config["html"]
    text = config.get("text") or ""
    parts_html = _split(html, links=True)
    if text:
        parts_text = _split(text, links=False)
        # Tracked URLs in the text part: replace the exact link URLs, longest first.
        urls = extract_links(html)
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
        links=extract_links(html),
        needs={p.entity for p in all_parts if isinstance(p, Merge)},
    )


def _replace_url(parts: list, url: str, position: int) -> list:
    out: list = []
    for part in parts:
        if isinstance(part, str) and url in part:
            pieces = part.split(url)
            for index, piece in enumerate(pieces):
                if index:
                    out.append(Link(position))
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
    the contact's `unsubscribe_url` (adapters.subscription_center_url_builder)."""
    site = settings.SITE_URL.rstrip("/")
    if unsubscribe_url is None:
        unsubscribe_url = adapters.subscription_center_url(records["contact"])
    link_urls = prepared.links
    signed = email_signature(outbox_id) if track else ""

    def tracked(position: int) -> str:
        if track:
            return f"{site}/t/c/{click_token(outbox_id, position, signed)}/"
        return link_urls[position]

    def join(parts: list, *, html: bool) -> str:
        out = []
        for part in parts:
            if isinstance(part, str):
                out.append(part)
            elif isinstance(part, Merge):
                value = _value(part, records)
                out.append(escape(value) if html else value)
            elif isinstance(part, Link):
                out.append(escape(tracked(part.position)) if html else tracked(part.position))
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
            "List-Unsubscribe": f"<{unsubscribe_url}>",
            "X-Nurture-Outbox": str(outbox_id),
        },
    )
    message.attach_alternative(html, "text/html")
    return message
