"""Email tracking: the open pixel and tracked links record email_open and email_click interactions
(scored unless repeated or machine traffic) and wake the enrollments waiting on an interaction."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.db.models import F
from django.db.models.functions import Coalesce
from django.utils import timezone

from crm_core import signal_quality
from crm_core.models import InteractionKind
from crm_core.ratelimit import over_limit
from crm_core.services import interaction_record

from ..models import Enrollment, EnrollmentState, OutboundEmail, StepKind, TrackedLink
from ..tracking_tokens import read_click_token, read_open_token


class TrackingTokenInvalid(Exception):
    pass


def _tracked_email(outbox_id: int) -> OutboundEmail:
    email = OutboundEmail.objects.select_related("step", "journey").filter(pk=outbox_id).first()
    if email is None:
        raise TrackingTokenInvalid("unknown email")
    return email


def _record(email: OutboundEmail, kind: str, now: datetime, *, machine: bool, **extra) -> None:
    """Record the interaction; a repeat within the window or machine traffic is marked unscored.

    The caller has updated (so locked) the outbox row first, which serialises replays of one message.
    """
    reason = signal_quality.unscored_reason(
        contact_id=email.contact_id, kind=kind, occurred_at=now, same={"outbox": email.pk}, machine=machine
    )
    interaction_record(
        contact_id=email.contact_id,
        kind=kind,
        occurred_at=now,
        properties=signal_quality.mark(
            {
                "journey": email.journey_id,
                "journey_name": email.journey.name,
                "step": email.step_id,
                "email": email.step.key,
                "outbox": email.pk,
                **extra,
            },
            reason,
        ),
    )
    # Anyone of this contact waiting on an interaction condition looks again now.
    Enrollment.objects.filter(
        contact_id=email.contact_id, state=EnrollmentState.WAITING, current_step__kind=StepKind.IF_INTERACTION
    ).update(next_run_at=now)


def _over_tracking_limit(email: OutboundEmail) -> bool:
    """Per message: past TRACKING_RATE_LIMIT the request is served but nothing is recorded."""
    return over_limit(scope="tracking", key=str(email.pk), rate=settings.TRACKING_RATE_LIMIT)


@transaction.atomic
def email_open_record(*, token: str, user_agent: str = "") -> None:
    """The open pixel was loaded: record an email_open interaction (unless over the message's limit)."""
    try:
        outbox_id = read_open_token(token)
    except (signing.BadSignature, ValueError) as error:
        raise TrackingTokenInvalid("bad token") from error
    email = _tracked_email(outbox_id)
    if _over_tracking_limit(email):
        return
    now = timezone.now()
    OutboundEmail.objects.filter(pk=email.pk).update(
        open_count=F("open_count") + 1, first_opened_at=Coalesce("first_opened_at", now)
    )
    _record(email, InteractionKind.EMAIL_OPEN, now, machine=signal_quality.is_scanner(user_agent))


@transaction.atomic
def email_click_record(*, token: str, user_agent: str = "") -> str:
    """A tracked link was followed: record an email_click (which implies an open); return the
    link's own stored URL, the only place the redirect may go."""
    try:
        outbox_id, position = read_click_token(token)
    except (signing.BadSignature, ValueError) as error:
        raise TrackingTokenInvalid("bad token") from error
    email = _tracked_email(outbox_id)
    link = TrackedLink.objects.filter(step_id=email.step_id, position=position).first()
    if link is None:
        raise TrackingTokenInvalid("unknown link")
    if _over_tracking_limit(email):
        return link.url
    now = timezone.now()
    OutboundEmail.objects.filter(pk=email.pk).update(
        click_count=F("click_count") + 1,
        first_clicked_at=Coalesce("first_clicked_at", now),
        first_opened_at=Coalesce("first_opened_at", now),
    )
    machine = signal_quality.is_machine_click(user_agent=user_agent, delivered_at=email.sent_at, now=now)
    _record(email, InteractionKind.EMAIL_CLICK, now, machine=machine, url=link.url, link=position)
    return link.url
