"""crm_core.tokens: signed, expiring, purpose-bound contact tokens."""

import pytest

from crm_core.tests.factories import ContactFactory
from crm_core.tokens import (
    PURPOSE_PREFERENCES,
    PURPOSE_PREFILL,
    ContactTokenError,
    contact_token_make,
    contact_token_read,
)

pytestmark = pytest.mark.django_db


def test_a_token_identifies_its_contact_for_its_purpose():
    contact = ContactFactory()
    token = contact_token_make(contact=contact, purpose=PURPOSE_PREFERENCES)
    assert contact_token_read(token=token, purpose=PURPOSE_PREFERENCES) == contact


@pytest.mark.parametrize("case", ["other-purpose", "tampered", "expired", "email-changed", "deleted"])
def test_a_token_is_refused_when(case):
    contact = ContactFactory()
    token = contact_token_make(contact=contact, purpose=PURPOSE_PREFERENCES)
    purpose, max_age = PURPOSE_PREFERENCES, None
    if case == "other-purpose":
        purpose = PURPOSE_PREFILL
    elif case == "tampered":
        token = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    elif case == "expired":
        max_age = -1
    elif case == "email-changed":
        contact.email = "changed@example.com"
        contact.save()
    elif case == "deleted":
        contact.delete()
    with pytest.raises(ContactTokenError) as error:
        contact_token_read(token=token, purpose=purpose, max_age=max_age)
    assert error.value.expired is (case == "expired")


def test_a_contact_without_email_gets_no_token():
    with pytest.raises(ValueError):
        contact_token_make(contact=ContactFactory(email=None), purpose=PURPOSE_PREFILL)


def test_tokens_are_the_ones_the_compressing_form_made(monkeypatch):
    """Links already sent keep working and new ones look the same: for every contact id size the
    token equals what `signing.dumps(..., compress=True)` gave (zlib never shortens the payload)."""
    import django.core.signing

    from crm_core import tokens

    monkeypatch.setattr(django.core.signing.time, "time", lambda: 1_764_000_000.5)
    for pk in (1, 12_345, 10**9 + 7, 2**62):
        contact = ContactFactory.build(pk=pk, email=f"person-{pk}@example.com")
        payload = {"c": pk, "f": tokens._fingerprint(contact)}
        for purpose in (PURPOSE_PREFERENCES, PURPOSE_PREFILL):
            compressed = django.core.signing.dumps(payload, salt=tokens._salt(purpose), compress=True)
            assert contact_token_make(contact=contact, purpose=purpose) == compressed
