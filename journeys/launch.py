"""What going live will do, for the confirmation the designer asks before it: how many contacts
enter now and how many emails go out in their first hour. Counted set-based: one query for who
enters (and how many of them may get marketing email), one per email step the first hour reaches."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, Exists, OuterRef, Q
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from crm_core import consent
from crm_core.models import Contact

from . import adapters
from .engine.steps.wait import wait_seconds
from .models import Enrollment, EntryType, Journey, Step, StepKind

HOUR = 3600


@dataclass
class LaunchPreview:
    enter_now: int = 0  # entry segment members, less the suppressed and those already in the journey
    may_email: int = 0  # of them, those the journey's consent and list rules let receive its emails
    emails_first_hour: int = 0
    approximate: bool = False  # a split on the first hour's path: its share is estimated
    by_trigger: bool = False  # trigger journeys: nobody enters at once


def _entering(journey: Journey):
    contacts = Contact.objects.filter(id__in=adapters.segment_member_ids(journey.entry_segment_id))
    if journey.suppression_segment_id:
        contacts = contacts.exclude(id__in=adapters.segment_member_ids(journey.suppression_segment_id))
    enrolled = Enrollment.objects.filter(journey=journey, contact=OuterRef("pk"))
    return contacts.exclude(Exists(enrolled))


def _allowed(journey: Journey) -> Q:
    return consent.marketing_email_allowed_q(
        minimum_level=journey.min_consent_level, subscription_list=journey.subscription_list_id
    )


def launch_preview(journey: Journey, *, now=None) -> LaunchPreview:
    """Who enters now and the emails of their first hour (`docs/architecture.md`, "Go live")."""
    if journey.entry_type != EntryType.SEGMENT or not journey.entry_segment_id:
        return LaunchPreview(by_trigger=True)
    now = now or timezone.now()
    entering = _entering(journey)
    allowed = _allowed(journey)
    counts = entering.aggregate(total=Count("id"), allowed=Count("id", filter=allowed))
    preview = LaunchPreview(enter_now=counts["total"], may_email=counts["allowed"])
    steps = {s.pk: s for s in Step.objects.filter(journey=journey)}
    first = min(steps.values(), key=lambda s: (s.position, s.pk), default=None)
    if first is None or not preview.may_email:
        return preview
    emails, approximate = _first_hour_emails(first, steps, entering.filter(allowed), now)
    preview.emails_first_hour, preview.approximate = emails, approximate
    return preview


def _first_hour_emails(first: Step, steps: dict, contacts, now) -> tuple[int, bool]:
    """Walk the graph from the first step with the contacts still on each path and the time spent
    waiting; each email step reached within the hour counts its contacts (one count query)."""
    total, approximate = 0, False
    pending = [(first.pk, Q(), 0, 1.0, frozenset())]
    while pending:
        step_id, where, elapsed, share, visited = pending.pop()
        step = steps.get(step_id)
        if step is None or step_id in visited or elapsed >= HOUR:
            continue
        visited = visited | {step_id}
        config = step.config or {}
        follow = [(step.next_step_id, where, elapsed, share)]
        match step.kind:
            case StepKind.SEND_EMAIL:
                total += round(contacts.filter(where).count() * share)
            case StepKind.WAIT_DURATION:
                follow = [(step.next_step_id, where, elapsed + wait_seconds(config), share)]
            case StepKind.WAIT_UNTIL:
                until = parse_datetime(str(config.get("until", "")))
                if until and timezone.is_naive(until):
                    until = timezone.make_aware(until)
                waited = max((until - now).total_seconds(), 0) if until else HOUR
                follow = [(step.next_step_id, where, max(elapsed, waited), share)]
            case StepKind.IF_CONDITION:
                condition = adapters.compile_contact_condition(config.get("condition"))
                follow = [
                    (step.next_step_id, where & condition, elapsed, share),
                    (step.else_step_id, where & ~condition, elapsed, share),
                ]
            case StepKind.IF_INTERACTION:
                # Nobody has interacted at entry: all take "no" once the wait is over.
                wait = int(config.get("wait_up_to_seconds") or 0)
                follow = [(step.else_step_id, where, elapsed + wait, share)]
            case StepKind.SPLIT:
                percent = int(config.get("percent", 50)) / 100
                approximate = approximate or 0 < percent < 1
                follow = [
                    (step.next_step_id, where, elapsed, share * percent),
                    (step.else_step_id, where, elapsed, share * (1 - percent)),
                ]
            case StepKind.END:
                follow = []
        pending.extend((target, w, e, s, visited) for target, w, e, s in follow if target and s > 0)
    return total, approximate
