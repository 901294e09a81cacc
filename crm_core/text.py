"""Names are stored without bidirectional control characters.

A right-to-left override (U+202E) and its kin reorder how the text around them is shown: in a name
they can make "moc.elpmaxe@" read as an address or hide part of a name in lists and emails. Letters
of right-to-left scripts need none of them (the Unicode bidi algorithm orders them), so the writers
of CRM records strip them from name fields; other text (notes, descriptions) is kept as typed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

BIDI_CONTROLS = dict.fromkeys(
    map(ord, "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
)
NAME_FIELDS = frozenset(
    {"first_name", "last_name", "middle_name", "name", "company_name", "job_title", "topic"}
)


def bidi_strip(text: str) -> str:
    return text.translate(BIDI_CONTROLS)


def names_clean(values: Mapping[str, Any]) -> dict:
    """`values` with bidi controls removed from the name fields' text."""
    return {
        name: bidi_strip(value) if name in NAME_FIELDS and isinstance(value, str) else value
        for name, value in values.items()
    }
