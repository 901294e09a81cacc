"""Email templates: from the visual editor's MJML to the HTML and plain text that journeys send.

`compile_email` runs server-side with no Node: MJML is compiled by MRML (the `mjml-python`
package), the CSS is inlined by `css-inline` (style tags kept for the media queries), and the plain
text part is generated from the result by `inscriptis` (links kept as their URLs). The grammar of
merge fields is `journeys/email_templates.py`'s; a marketing email must carry a link whose href is
`{{ unsubscribe_url }}`; `link_report` checks every link.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html import escape, unescape
from urllib.parse import urlsplit

import css_inline
from inscriptis import get_text
from inscriptis.css_profiles import CSS_PROFILES
from inscriptis.model.config import ParserConfig
from mjml import mjml2html

from .email_templates import (
    MERGE_FIELDS,
    UNSUBSCRIBE_REFERENCE,
    anchor_hrefs,
    is_trackable,
    template_problem,
)

MERGE_TAG_IN_SOURCE = re.compile(r"\{\{(.*?)\}\}", re.S)
MJML_LIMIT = 1_000_000  # characters of MJML source

# What a merge field falls back to in the picker's suggestion (the editor may change it).
MERGE_DEFAULTS = {("contact", "first_name"): "there", ("account", "name"): "your company"}


def merge_field_choices() -> list[dict]:
    """The merge-field picker's rows: one per field of the registry, with a suggested default."""
    rows = []
    for entity, fields in MERGE_FIELDS.items():
        for field in fields:
            default = MERGE_DEFAULTS.get((entity, field), "")
            tag = (
                f'{{{{ {entity}.{field}|default:"{default}" }}}}'
                if default
                else f"{{{{ {entity}.{field} }}}}"
            )
            rows.append({"entity": entity, "field": field, "label": f"{entity} · {field}", "tag": tag})
    rows.append(
        {
            "entity": "",
            "field": "unsubscribe_url",
            "label": "unsubscribe link",
            "tag": "{{ unsubscribe_url }}",
        }
    )
    return rows


class EmailInvalid(ValueError):
    """The template cannot be saved: `errors` is {field: [messages]}; `links` the link report."""

    def __init__(self, errors: dict[str, list[str]], links: list[dict] | None = None):
        super().__init__("; ".join(f"{k}: {' '.join(v)}" for k, v in errors.items()))
        self.errors = errors
        self.links = links or []


@dataclass(frozen=True)
class Compiled:
    html: str
    text: str
    links: list[dict]


def _normalise_merge_tags(source: str) -> str:
    """Merge tags as the editor may write them (quotes as `&quot;`) back to the plain grammar."""
    return MERGE_TAG_IN_SOURCE.sub(lambda m: "{{" + unescape(m.group(1)) + "}}", source)


def _with_preheader(mjml: str, preheader: str) -> str:
    """The MJML with the preheader as `<mj-preview>` (the inbox's preview line)."""
    if not preheader.strip() or "<mj-preview" in mjml:
        return mjml
    preview = f"<mj-preview>{escape(preheader, quote=False)}</mj-preview>"
    if "<mj-head>" in mjml:
        return mjml.replace("<mj-head>", "<mj-head>" + preview, 1)
    return re.sub(
        r"(<mjml[^>]*>)", r"\1<mj-head>" + preview.replace("\\", "\\\\") + "</mj-head>", mjml, count=1
    )


def mjml_to_html(mjml: str, preheader: str = "") -> str:
    """Compile MJML (MRML) and inline its CSS. Raises EmailInvalid with MRML's message."""
    source = _with_preheader(_normalise_merge_tags(mjml), preheader)
    try:
        html = mjml2html(source, fonts={})  # no default web font (MJML's Ubuntu from Google)
        inlined = _INLINER.inline(html)
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as error:  # MRML's errors, and a Rust panic (a BaseException) on odd input
        raise EmailInvalid({"mjml": [f"not valid MJML: {error}"]}) from error
    return _normalise_merge_tags(inlined)


_INLINER = css_inline.CSSInliner(keep_style_tags=True, load_remote_stylesheets=False)


_TEXT_CONFIG = ParserConfig(css=CSS_PROFILES["strict"], display_links=True)


def html_to_text(html: str) -> str:
    """The plain-text part: the text as laid out, each link followed by its URL."""
    text = get_text(html, _TEXT_CONFIG)
    lines = [line.rstrip() for line in text.splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip() + "\n"


def link_report(html: str) -> list[dict]:
    """Every `<a href>` of the HTML in order: {url, ok, problem}. A link is fine when it is an
    absolute http(s) URL with a host and no merge field, a mailto: address, or exactly the
    `{{ unsubscribe_url }}` tag."""
    report = []
    for href in anchor_hrefs(html):
        url = href.url
        tag = MERGE_TAG_IN_SOURCE.fullmatch(url)
        problem = ""
        if tag and UNSUBSCRIBE_REFERENCE.match(tag.group(1)):
            pass
        elif "{{" in url or "{%" in url:
            problem = "merge fields other than {{ unsubscribe_url }} are not allowed in links"
        elif url.lower().startswith("mailto:"):
            if "@" not in url:
                problem = "a mailto: link needs an address"
        elif not is_trackable(url):
            problem = "not an absolute http(s) URL" if url else "empty link"
        elif not urlsplit(url).hostname:
            problem = "the URL has no host"
        report.append({"url": url, "ok": not problem, "problem": problem})
    return report


def has_unsubscribe_link(html: str) -> bool:
    return any(
        (tag := MERGE_TAG_IN_SOURCE.fullmatch(h.url)) and UNSUBSCRIBE_REFERENCE.match(tag.group(1))
        for h in anchor_hrefs(html)
    )


def compile_email(*, mjml: str, kind: str, subject: str, preheader: str = "") -> Compiled:
    """The HTML and text of a template, or EmailInvalid naming every problem (fields and links)."""
    errors: dict[str, list[str]] = {}
    if not isinstance(mjml, str) or not mjml.strip():
        raise EmailInvalid({"mjml": ["the email has no content (MJML source)"]})
    if len(mjml) > MJML_LIMIT:
        raise EmailInvalid({"mjml": [f"at most {MJML_LIMIT:,} characters"]})
    for name, value in (("subject", subject), ("preheader", preheader)):
        problem = template_problem(value or "")
        if problem:
            errors[name] = [problem]
    html = mjml_to_html(mjml, preheader)
    problem = template_problem(html)
    if problem:
        errors["mjml"] = [problem]
    links = link_report(html)
    bad = [f"{link['url'] or '(empty)'}: {link['problem']}" for link in links if not link["ok"]]
    if bad:
        errors["links"] = bad
    if kind == "marketing" and not has_unsubscribe_link(html):
        errors["unsubscribe"] = [
            "a marketing email needs an unsubscribe link: a link whose URL is {{ unsubscribe_url }}"
        ]
    if errors:
        raise EmailInvalid(errors, links)
    return Compiled(html=html, text=html_to_text(html), links=links)
