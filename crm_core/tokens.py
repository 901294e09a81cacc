"""Signed, expiring tokens that identify a contact in a link (subscription center, prefill, journeys).

A token names the contact and a purpose and carries a fingerprint of the
contact's current email: it stops working when it expires, when the email
changes, and when the contact is erased. A token made for one purpose is
refused for another (each purpose signs with its own salt), so a prefill link
cannot open the subscription center and the other way round.
"""

from __future__ import annotations

import hashlib
import hmac

from django.conf import settings
from django.core import signing

from .models import Contact

PURPOSE_PREFERENCES = "preferences"
PURPOSE_PREFILL = "prefill"
PURPOSE_CONSENT_CONFIRM = "consent-confirm"

DEFAULT_MAX_AGE = 60 * 60 * 24 * 90  # seconds: about three months


class ContactTokenError(Exception):
    """The token cannot identify a contact; `expired` tells an old link from a bad one."""

    def __init__(self, message: str, *, expired: bool = False):
        super().__init__(message)
        self.expired = expired


def _salt(purpose: str) -> str:
    return f"nurture.contact-token.{purpose}"


def _fingerprint(contact: Contact) -> str:
    key = f"{settings.SECRET_KEY}:contact-token".encode()
    return hmac.new(key, (contact.email or "").encode(), hashlib.sha256).hexdigest()[:16]


def contact_token_make(*, contact: Contact, purpose: str) -> str:
    """A URL-safe token for `contact` valid for `purpose` (e.g. PURPOSE_PREFERENCES)."""
    if contact.pk is None or not contact.email:
        raise ValueError("only a saved contact with an email can have a token")
    # Uncompressed: zlib never makes a payload this small shorter, so `compress=True` gave these same
    # tokens (it keeps the plain form unless compressing saves space), at the price of a zlib stream
    # set up per token (a third of the time of making one; a journey batch makes a thousand).
    return signing.dumps({"c": contact.pk, "f": _fingerprint(contact)}, salt=_salt(purpose))


def contact_token_read(*, token: str, purpose: str, max_age: int | None = None) -> Contact:
    """The contact a token identifies, or ContactTokenError (expired, tampered, wrong purpose, stale)."""
    if max_age is None:
        max_age = getattr(settings, "CONTACT_TOKEN_MAX_AGE", DEFAULT_MAX_AGE)
    try:
        data = signing.loads(token, salt=_salt(purpose), max_age=max_age)
    except signing.SignatureExpired as exc:
        raise ContactTokenError("this link has expired", expired=True) from exc
    except signing.BadSignature as exc:
        raise ContactTokenError("this link is not valid") from exc
    if not isinstance(data, dict) or not isinstance(data.get("c"), int):
        raise ContactTokenError("this link is not valid")
    contact = Contact.objects.filter(pk=data["c"]).first()
    if (
        contact is None
        or not contact.email
        or not hmac.compare_digest(_fingerprint(contact), str(data.get("f")))
    ):
        raise ContactTokenError("this link is no longer valid")
    return contact
