"""Consent raised by a form post: at once for a new or identified person, else held pending until the
person confirms it through a signed link emailed to them (double opt-in, crm_core.consent)."""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse

from crm_core import consent
from crm_core.models import ConsentSource, Contact
from crm_core.tokens import PURPOSE_CONSENT_CONFIRM, contact_token_make

from ..models import FormSubmission

logger = logging.getLogger(__name__)


def consent_raise(submission: FormSubmission, contact: Contact, *, identified: bool) -> None:
    """Raise consent at once for a new or identified person; else hold it until they confirm."""
    page = submission.page
    if identified:
        consent.contact_preferences_update(
            contact=contact,
            changes={"consent_level": page.consent_level},
            source=ConsentSource.LANDING_PAGE,
            ip_address=submission.ip_address,
        )
    elif consent.consent_increase_request(contact=contact, level=page.consent_level):
        contact_id = contact.pk
        transaction.on_commit(lambda: consent_confirmation_send(contact_id=contact_id))


def consent_confirmation_send(*, contact_id: int) -> None:
    """Email the person a signed link to confirm a pending consent increase (double opt-in).

    A lost email only leaves the increase pending; the person can ask again by posting the form.
    """
    contact = Contact.objects.filter(pk=contact_id, pending_consent_level__isnull=False).first()
    if contact is None or not contact.email:
        return
    token = contact_token_make(contact=contact, purpose=PURPOSE_CONSENT_CONFIRM)
    url = settings.SITE_URL.rstrip("/") + reverse("landing:consent-confirm", args=[token])
    try:
        send_mail(
            "Please confirm your email preferences",
            "Someone (we hope you) asked us to send you more email. If it was you, confirm here:\n"
            f"{url}\n\nIf it was not you, ignore this email: nothing changes.",
            None,
            [contact.email],
        )
    except Exception:
        logger.exception("could not send the consent confirmation to contact %s", contact_id)
