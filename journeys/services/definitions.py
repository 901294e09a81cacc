"""Writes of journey definitions: create and edit a journey with its steps, and its status changes
(go live, pause, stop)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from crm_core import tasking

from ..email_templates import extract_links
from ..models import (
    OPEN_STATES,
    EmailTemplate,
    Enrollment,
    EnrollmentState,
    Journey,
    JourneyStatus,
    Step,
    StepKind,
    TrackedLink,
)
from .validation import validate_entry


def journey_create(
    *, data: dict, steps: list[dict], created_by=None, create_token: str | None = None
) -> Journey:
    """Create a journey with its steps. With a `create_token` (the create form's hidden token, or the
    API's Idempotency-Key) a second call with the same token returns the journey the first made: the
    unique constraint on the token decides between two submits racing each other."""
    if create_token:
        existing = Journey.objects.filter(create_token=create_token).first()
        if existing is not None:
            return existing
    try:
        with transaction.atomic():
            journey = Journey.objects.create(**data, created_by=created_by, create_token=create_token or None)
            _steps_replace(journey=journey, steps=steps)
    except IntegrityError:
        existing = Journey.objects.filter(create_token=create_token).first() if create_token else None
        if existing is None:
            raise
        return existing
    return journey


@transaction.atomic
def journey_update(*, journey: Journey, data: dict, steps: list[dict] | None = None) -> Journey:
    journey = Journey.objects.select_for_update().get(pk=journey.pk)
    if steps is not None and journey.status != JourneyStatus.DRAFT:
        raise ValidationError({"steps": ["steps can only be changed while the journey is a draft"]})
    entry_fields = {"entry_type", "entry_segment_id", "trigger_kind", "trigger_config"}
    if journey.status != JourneyStatus.DRAFT and any(
        getattr(journey, f) != v for f, v in data.items() if f in entry_fields
    ):
        raise ValidationError({"entry_type": ["the entry can only be changed while the journey is a draft"]})
    for name, value in data.items():
        setattr(journey, name, value)
    journey.save()
    if steps is not None:
        _steps_replace(journey=journey, steps=steps)
    return journey


def _steps_replace(*, journey: Journey, steps: list[dict]) -> None:
    """Store a validated step list: positions in list order; `next` defaults to the following step."""
    journey.steps.all().delete()
    configs = _with_template_content(steps)
    created = Step.objects.bulk_create(
        [
            Step(journey=journey, key=s["key"], kind=s["kind"], config=config, position=i)
            for i, (s, config) in enumerate(zip(steps, configs, strict=True))
        ]
    )
    by_key = {step.key: step for step in created}
    for index, (data, step) in enumerate(zip(steps, created, strict=True)):
        if "next" in data:
            step.next_step = by_key.get(data["next"]) if data["next"] is not None else None
        elif step.kind != StepKind.END and index + 1 < len(created):
            step.next_step = created[index + 1]
        step.else_step = by_key.get(data.get("else")) if data.get("else") is not None else None
    Step.objects.bulk_update(created, ["next_step", "else_step"])
    TrackedLink.objects.bulk_create(
        [
            TrackedLink(step=step, position=position, url=url)
            for step in created
            if step.kind == StepKind.SEND_EMAIL
            for position, url in enumerate(extract_links(step.config["html"]))
        ]
    )


def _with_template_content(steps: list[dict]) -> list[dict]:
    """Each step's config; a send-email step naming a template gets that template's subject, HTML
    and text copied in (one query), so the journey sends what it was saved with."""
    template_ids = {
        s["config"]["template_id"]
        for s in steps
        if s["kind"] == StepKind.SEND_EMAIL and "template_id" in s.get("config", {})
    }
    templates = EmailTemplate.objects.in_bulk(template_ids)
    configs = []
    for step in steps:
        config = step.get("config", {})
        if step["kind"] == StepKind.SEND_EMAIL and "template_id" in config:
            template = templates.get(config["template_id"])
            if template is None:  # deleted since the steps were validated
                raise ValidationError({"template_id": [f"no email template {config['template_id']!r}"]})
            config = {
                "template_id": template.pk,
                "subject": template.subject,
                "html": template.html,
                "text": template.text,
            }
        configs.append(config)
    return configs


def _transition(journey: Journey, allowed_from: tuple[str, ...], to: str) -> Journey:
    journey = Journey.objects.select_for_update().get(pk=journey.pk)
    if journey.status not in allowed_from:
        raise ValidationError({"status": [f"a {journey.status} journey cannot become {to}"]})
    journey.status = to
    return journey


@transaction.atomic
def journey_go_live(*, journey: Journey) -> Journey:
    journey = _transition(journey, (JourneyStatus.DRAFT, JourneyStatus.PAUSED), JourneyStatus.LIVE)
    if not journey.steps.exists():
        raise ValidationError({"steps": ["a journey needs at least one step to go live"]})
    problems = validate_entry(
        {f: getattr(journey, f) for f in ("entry_type", "entry_segment_id", "trigger_kind", "trigger_config")}
    )
    if problems:
        raise ValidationError(problems)
    journey.live_since = timezone.now()
    journey.went_live_at = journey.went_live_at or journey.live_since
    journey.save(update_fields=["status", "went_live_at", "live_since", "updated_at"])
    transaction.on_commit(lambda: tasking.enqueue("journeys.tick"))  # contacts enter at once
    return journey


@transaction.atomic
def journey_pause(*, journey: Journey) -> Journey:
    journey = _transition(journey, (JourneyStatus.LIVE,), JourneyStatus.PAUSED)
    journey.save(update_fields=["status", "updated_at"])
    return journey


@transaction.atomic
def journey_stop(*, journey: Journey) -> Journey:
    journey = _transition(journey, (JourneyStatus.LIVE, JourneyStatus.PAUSED), JourneyStatus.STOPPED)
    journey.save(update_fields=["status", "updated_at"])
    Enrollment.objects.filter(journey=journey, state__in=OPEN_STATES).update(
        state=EnrollmentState.EXITED,
        exit_reason="journey_stopped",
        finished_at=timezone.now(),
        next_run_at=None,
    )
    return journey
