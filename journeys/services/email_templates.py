"""Email templates: save (compiled and checked first, nothing stored when anything is wrong), the
preview of one contact's copy, and a test send to an address.

A preview and a test send render exactly as the sender does (`engine/messages.py`), with the
contact's merge values, but never with tracking (no pixel, no rewritten links: they would name no
outbox row) and with an unsubscribe link that changes nobody's preferences. The preview says what
consent and tracking would do to that contact's real copy. A test send goes through the email
backend like any email, marked as a test (subject prefix and an `X-Nurture-Test` header); it writes
no outbox row and counts as no journey send.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives
from django.db import transaction

from crm_core import consent
from crm_core.jsontext import unstorable_text_problems
from crm_core.models import Contact

from ..email_compile import EmailInvalid, compile_email
from ..engine import messages
from ..engine.sending import latest_leads
from ..models import EmailKind, EmailTemplate

TEMPLATE_FIELDS = ("name", "kind", "subject", "preheader", "editor_data", "mjml")
TEST_SUBJECT_PREFIX = "[Test] "


def _compiled_fields(values: dict) -> dict:
    unstorable = {
        name: [problem]
        for name in TEMPLATE_FIELDS
        for _, problem in unstorable_text_problems(values.get(name), name)[:1]
    }
    if unstorable:  # a NUL or a lone surrogate: PostgreSQL could not store it
        raise ValidationError(unstorable)
    problems: dict[str, list[str]] = {}
    if not str(values.get("name") or "").strip():
        problems["name"] = ["a name is required"]
    if not str(values.get("subject") or "").strip():
        problems["subject"] = ["a subject is required"]
    if values.get("kind") not in EmailKind.values:
        problems["kind"] = [f"one of {', '.join(EmailKind.values)}"]
    try:
        compiled = compile_email(
            mjml=values.get("mjml") or "",
            kind=values.get("kind"),
            subject=values.get("subject") or "",
            preheader=values.get("preheader") or "",
        )
    except EmailInvalid as invalid:
        raise ValidationError({**invalid.errors, **problems}) from invalid
    if problems:
        raise ValidationError(problems)
    return {"html": compiled.html, "text": compiled.text}


@transaction.atomic
def email_template_create(*, actor=None, **values) -> EmailTemplate:
    values = {f: values[f] for f in TEMPLATE_FIELDS if f in values}
    values.setdefault("kind", EmailKind.MARKETING)
    compiled = _compiled_fields(values)
    return EmailTemplate.objects.create(**values, **compiled, created_by=actor)


@transaction.atomic
def email_template_update(*, email_template: EmailTemplate, actor=None, **values) -> EmailTemplate:
    template = EmailTemplate.objects.select_for_update().get(pk=email_template.pk)
    merged = {f: values.get(f, getattr(template, f)) for f in TEMPLATE_FIELDS}
    compiled = _compiled_fields(merged)
    for name, value in {**merged, **compiled}.items():
        setattr(template, name, value)
    template.save()
    return template


# --- Rendering one contact's copy ------------------------------------------------------------------


@dataclass
class _TemplateStep:
    """What `messages.prepare` reads of a send-email step, for a template."""

    pk: int
    config: dict


def _prepared(template: EmailTemplate) -> messages.PreparedEmail:
    config = {"subject": template.subject, "html": template.html, "text": template.text}
    return messages.prepare(_TemplateStep(pk=template.pk, config=config))


def _records(contact: Contact | None) -> dict:
    if contact is None:
        return {"contact": None, "account": None, "lead": None}
    lead = latest_leads({contact.pk}).get(contact.pk)
    return {"contact": contact, "account": contact.parent_account, "lead": lead}


def _test_unsubscribe_url() -> str:
    """Where a preview's or test copy's unsubscribe link points: nobody's subscription center."""
    return settings.SITE_URL.rstrip("/") + "/preferences/test-copy/"


def _notices(template: EmailTemplate, contact: Contact, prepared: messages.PreparedEmail) -> dict:
    if template.kind == EmailKind.MARKETING:
        decision = consent.marketing_email_decision(contact)
        sending = (
            "would be sent: the contact may get marketing email"
            if decision
            else f"would not be sent: {decision.message}"
        )
    else:
        decision = consent.Decision(bool(contact.email), None if contact.email else consent.NO_EMAIL)
        sending = "would be sent (transactional)" if decision else f"would not be sent: {decision.message}"
    tracking = consent.tracking_decision(contact)
    count = len(prepared.links)
    if tracking:
        tracked = f"tracking on: {count} link(s) rewritten to tracked redirects, plus an open pixel"
    else:
        tracked = f"tracking off for this contact ({tracking.message}): links not rewritten, no open pixel"
    return {
        "would_send": decision.allowed,
        "sending": sending,
        "tracking": tracking.allowed,
        "tracking_notice": tracked,
    }


def email_template_preview(*, email_template: EmailTemplate, contact: Contact | None) -> dict:
    """The template as `contact` would get it (merge values filled; untracked, as a preview names no
    email), with what consent and tracking would do to the real copy. Without a contact the
    merge fields show their defaults."""
    prepared = _prepared(email_template)
    subject, html, text, _ = messages.render(
        prepared,
        outbox_id=0,
        records=_records(contact),
        track=False,
        unsubscribe_url=_test_unsubscribe_url(),
    )
    preview = {"subject": subject, "html": html, "text": text, "contact": getattr(contact, "pk", None)}
    if contact is not None:
        preview.update(_notices(email_template, contact, prepared))
    return preview


def email_template_test_send(
    *, email_template: EmailTemplate, to: str, contact: Contact | None = None
) -> None:
    """Send one test copy to `to` through the email backend (merge values of `contact` if given)."""
    preview = email_template_preview(email_template=email_template, contact=contact)
    message = EmailMultiAlternatives(
        subject=TEST_SUBJECT_PREFIX + preview["subject"],
        body=preview["text"],
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[to],
        headers={"X-Nurture-Test": f"email-template-{email_template.pk}"},
    )
    message.attach_alternative(preview["html"], "text/html")
    message.send(fail_silently=False)
