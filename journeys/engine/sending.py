"""Sending claimed outbox rows: consent decided again, each step's template prepared once and
rendered per contact (`messages.py`), every message handed to ONE email-backend connection, and a
durable mark per email right after the backend accepted it (`sending_sql.py` / `sending_portable.py`).

The sender of a batch is the task that ran it (`runner.enrollments_run`: its rows were queued
already claimed); `send_outbox` is the sweep's sender, for rows left pending.
"""

from __future__ import annotations

import logging
from collections import defaultdict

from django.core.mail import get_connection
from django.utils import timezone

from crm_core import sqlpath

from .. import adapters
from ..email_templates import MERGE_FIELDS
from ..models import Journey, OutboundEmail, OutboxStatus, Step
from . import messages, outbox, sending_portable, sending_sql
from .conf import setting

logger = logging.getLogger(__name__)


def _statements():
    return sending_sql if sqlpath.postgres_sql() else sending_portable


def latest_leads(contact_ids: set[int]) -> dict:
    """The newest lead of each of these contacts: what `lead.*` merge fields read."""
    return _statements().latest_leads(contact_ids)


def send_outbox(*, outbox_ids: list[int]) -> int:
    """Send these outbox rows (those still pending): claim, re-check consent, send, mark each sent.
    Must run outside a transaction. Returns how many were sent."""
    if not outbox_ids:
        return 0
    with outbox.sender_claim() as claim:
        claimed = outbox.claim_pending(outbox_ids, claim, timezone.now())
        return send_claimed(claimed, claim)


def send_claimed(claimed: list[int], claim: int) -> int:
    """Send outbox rows already claimed (status sending) under `claim`, whose lock this connection
    holds: re-check consent (to email, and to tracking: pixel and tracked links only for contacts who
    allow it), render each from its step's prepared template, hand them to one email backend
    connection one message at a time, and mark each sent right after its call returns."""
    if not claimed:
        return 0
    try:
        allowed = _skip_blocked(_recipients(claimed), claim)
        if not allowed:
            return 0
        steps = Step.objects.in_bulk({r.step_id for r in allowed})
        prepared = {step_id: messages.prepare(step) for step_id, step in steps.items()}
        needs_lead = {r.contact.pk for r in allowed if "lead" in prepared[r.step_id].needs}
        leads = _statements().latest_leads(needs_lead) if needs_lead else {}
        unsubscribe_url = adapters.subscription_center_url_builder()
        return _send_all(allowed, prepared, leads, unsubscribe_url, claim)
    finally:
        outbox.finalize_claim(claim)


class Recipient:
    """An outbox row about to be sent, with the merge-field values of its contact and account: what
    rendering reads (plain attributes, no model instances)."""

    __slots__ = ("id", "attempts", "journey_id", "step_id", "contact", "account")


class _Record:
    """Merge-field values of one contact or account (`getattr(record, field)`, like a model)."""

    def __init__(self, **values):
        self.__dict__.update(values)


_CONTACT_FIELDS = (
    "email",
    *adapters.TRACKING_FIELDS,
    *[f for f in MERGE_FIELDS["contact"] if f != "email"],
    "custom",  # custom merge fields ({{ contact.custom.<key> }})
)
_ACCOUNT_FIELDS = (*MERGE_FIELDS["account"], "custom")


def _recipients(claimed: list[int]) -> list[Recipient]:
    """The claimed rows with their contacts' and accounts' merge fields: one query, plain values."""
    rows = (
        OutboundEmail.objects.filter(id__any_of=claimed)
        .order_by("id")
        .values_list(
            "id",
            "attempts",
            "journey_id",
            "step_id",
            "contact_id",
            *[f"contact__{f}" for f in _CONTACT_FIELDS],
            "contact__parent_account_id",
            *[f"contact__parent_account__{f}" for f in _ACCOUNT_FIELDS],
        )
    )
    width = len(_CONTACT_FIELDS)
    out = []
    for row in rows:
        r = Recipient()
        r.id, r.attempts, r.journey_id, r.step_id, contact_id = row[:5]
        contact, account_id, account = row[5 : 5 + width], row[5 + width], row[6 + width :]
        r.contact = _Record(pk=contact_id, id=contact_id, **dict(zip(_CONTACT_FIELDS, contact, strict=True)))
        r.account = (
            None
            if account_id is None
            else _Record(pk=account_id, **dict(zip(_ACCOUNT_FIELDS, account, strict=True)))
        )
        out.append(r)
    return out


def _skip_blocked(rows: list[Recipient], claim: int) -> list[Recipient]:
    """Consent decided again at send time (anything that changed since the step ran counts): one
    query per journey; the blocked rows become `skipped` with their reason in one statement."""
    journeys = Journey.objects.in_bulk({r.journey_id for r in rows})
    allowed, skipped = [], []
    for journey_id, group in _group_by(rows, lambda r: r.journey_id).items():
        journey = journeys[journey_id]
        blocked = adapters.marketing_email_block_reasons(
            [r.contact.pk for r in group],
            min_consent_level=journey.min_consent_level,
            subscription_list_id=journey.subscription_list_id,
        )
        for r in group:
            if r.contact.pk in blocked:
                skipped.append((r.id, blocked[r.contact.pk]))
            else:
                allowed.append(r)
    for reason, group in _group_by(skipped, lambda pair: pair[1]).items():  # one statement per reason
        OutboundEmail.objects.filter(id__in=[i for i, _ in group], claim_id=claim).update(
            status=OutboxStatus.SKIPPED, skip_reason=reason, claim_id=None
        )
    allowed.sort(key=lambda r: r.id)
    return allowed


def _send_all(allowed: list[Recipient], prepared: dict, leads: dict, unsubscribe_url, claim: int) -> int:
    mail = get_connection(fail_silently=False)
    mail.open()
    try:
        marks = _statements().SentMarks()  # from here on marks may commit asynchronously, until close()
        try:
            return _send_each(allowed, prepared, leads, unsubscribe_url, claim, mail, marks)
        finally:
            marks.close()
    finally:
        mail.close()


def _send_each(allowed, prepared, leads, unsubscribe_url, claim, mail, marks) -> int:
    sent = 0
    for row in allowed:
        # Built while the previous marks are on their way to the database (never waited for here).
        message = messages.build_message(
            prepared[row.step_id],
            outbox_id=row.id,
            to=row.contact.email,
            records={"contact": row.contact, "account": row.account, "lead": leads.get(row.contact.pk)},
            track=adapters.tracking_allowed(row.contact),  # consent read with the batch: no query
            unsubscribe_url=unsubscribe_url(row.contact),
        )
        try:
            mail.send_messages([message])
        except Exception as error:  # SMTP refused or failed: back to pending for a later sweep
            logger.warning("journey email %s not sent: %s", row.id, error)
            final = row.attempts >= setting("JOURNEYS_SEND_MAX_ATTEMPTS", 5)
            marks.pause()  # the marks so far confirmed; the connection takes this update
            OutboundEmail.objects.filter(pk=row.id, claim_id=claim).update(
                status=OutboxStatus.FAILED if final else OutboxStatus.PENDING,
                claim_id=None,
                error=str(error)[:2000],
            )
            marks.resume()
            continue
        marks.send(row.id)
        sent += 1
    return sent


def _group_by(rows, key) -> dict:
    groups: dict = defaultdict(list)
    for row in rows:
        groups[key(row)].append(row)
    return groups
