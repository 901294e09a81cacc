"""Signed tokens of the open pixel and tracked links of journey emails.

One signature per email covers its pixel and all its links: a click token is "<signed outbox>-<n>";
changing n can only pick another link of the same email, never a URL of the sender's choosing.
"""

from __future__ import annotations

from django.core import signing

TRACKING_SALT = "journeys.tracking"


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
