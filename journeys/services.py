"""Writes of the journeys app: definitions, status changes, the tick, and email tracking."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from crm_core import signal_quality
from crm_core.jsontext import unstorable_text_problems
from crm_core.models import Contact, InteractionKind, SubscriptionList
from crm_core.ratelimit import over_limit
from crm_core.services import interaction_record

from . import adapters, emails, engine
from .models import (
    BRANCHING_KINDS,
    OPEN_STATES,
    Enrollment,
    EnrollmentState,
    EntryType,
    Journey,
    JourneyStatus,
    OutboundEmail,
    Step,
    StepKind,
    TrackedLink,
    TriggerKind,
)

DEFAULT_BATCH_SIZE = 1000
LEASE_MAX = 20_000  # enrollments one lease statement of the tick may take
logger = logging.getLogger(__name__)

# --- Validation -------------------------------------------------------------------------------------

_STEP_KEYS = {"key", "kind", "config", "next", "else"}
_CONFIG_KEYS = {
    StepKind.SEND_EMAIL: {"subject", "html", "text"},
    StepKind.WAIT_DURATION: {"seconds", "minutes", "hours", "days"},
    StepKind.WAIT_UNTIL: {"until"},
    StepKind.IF_CONDITION: {"condition"},
    StepKind.IF_INTERACTION: {"kind", "email_step", "wait_up_to_seconds"},
    StepKind.SPLIT: {"percent"},
    StepKind.CREATE_LEAD: {"topic"},
    StepKind.UPDATE_FIELD: {"field", "value"},
    StepKind.LIST_ADD: {"list"},
    StepKind.LIST_REMOVE: {"list"},
    StepKind.SEGMENT_ADD: {"segment"},
    StepKind.SEGMENT_REMOVE: {"segment"},
    StepKind.CREATE_TASK: {"title", "description", "due_in_days"},
    StepKind.END: set(),
}
TRIGGER_FIELDS = ("job_role", "job_title", "country", "city", "consent_level", "marketing_only")


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def validate_steps(steps) -> dict[str, list[str]]:
    """Problems of a step list as {"steps[i].field": [messages]}; empty when valid."""
    errors: dict[str, list[str]] = {}

    def err(where: str, message: str) -> None:
        errors.setdefault(where, []).append(message)

    if not isinstance(steps, list):
        return {"steps": ["must be a list of steps"]}
    if len(steps) > 200:
        return {"steps": ["at most 200 steps"]}
    unstorable = unstorable_text_problems(steps, "steps")
    if unstorable:  # a NUL in an email's HTML, say: PostgreSQL could not store the definition
        return {path: [message] for path, message in unstorable}
    keys: dict[str, str] = {}
    for index, step in enumerate(steps):
        if not isinstance(step, dict):
            err(f"steps[{index}]", "a step must be an object")
            continue
        key = step.get("key")
        if (
            not isinstance(key, str)
            or not key
            or len(key) > 64
            or not key.replace("-", "").replace("_", "").isalnum()
        ):
            err(f"steps[{index}].key", "a key of letters, digits, - and _ (up to 64) is required")
        elif key in keys:
            err(f"steps[{index}].key", f"duplicate key {key!r}")
        else:
            keys[key] = step.get("kind")
    for index, step in enumerate(steps):
        if not isinstance(step, dict):
            continue
        where = f"steps[{index}]"
        for extra in set(step) - _STEP_KEYS:
            err(f"{where}.{extra}", f"unknown key {extra!r}")
        kind = step.get("kind")
        if kind not in StepKind.values:
            err(f"{where}.kind", f"unknown step kind {kind!r}; one of {', '.join(StepKind.values)}")
            continue
        for edge in ("next", "else"):
            target = step.get(edge)
            if target is not None and target not in keys:
                err(f"{where}.{edge}", f"no step with key {target!r}")
        if step.get("else") is not None and kind not in BRANCHING_KINDS:
            err(f"{where}.else", "only if/then and split steps have an else branch")
        config = step.get("config", {})
        if not isinstance(config, dict):
            err(f"{where}.config", "must be an object")
            continue
        for extra in set(config) - _CONFIG_KEYS[kind]:
            err(f"{where}.config.{extra}", f"unknown setting {extra!r} for {kind}")
        for field, message in _config_problems(kind, config, keys).items():
            err(f"{where}.config.{field}" if field else f"{where}.config", message)
    return errors


def _config_problems(kind: str, config: dict, keys: dict[str, str]) -> dict[str, str]:
    match kind:
        case StepKind.SEND_EMAIL:
            return emails.validate_email_config(config)
        case StepKind.WAIT_DURATION:
            values = [config.get(k, 0) for k in ("seconds", "minutes", "hours", "days")]
            if not all(_is_int(v) and v >= 0 for v in values) or engine.wait_seconds(config) <= 0:
                return {"": "a positive whole duration in seconds, minutes, hours and/or days is required"}
        case StepKind.WAIT_UNTIL:
            value = config.get("until")
            if not isinstance(value, str) or parse_datetime(value) is None:
                return {"until": "an ISO date-time is required"}
        case StepKind.IF_CONDITION:
            problems = adapters.validate_contact_condition(config.get("condition"))
            if problems:
                return {"condition": "; ".join(f"{p['path']}: {p['message']}" for p in problems)}
        case StepKind.IF_INTERACTION:
            if config.get("kind", InteractionKind.EMAIL_OPEN) not in InteractionKind.values:
                return {"kind": f"one of {', '.join(InteractionKind.values)}"}
            email_step = config.get("email_step")
            if email_step is not None and keys.get(email_step) != StepKind.SEND_EMAIL:
                return {"email_step": f"no send-email step with key {email_step!r}"}
            wait = config.get("wait_up_to_seconds", 0)
            if not _is_int(wait) or wait < 0:
                return {"wait_up_to_seconds": "a whole number of seconds >= 0"}
        case StepKind.SPLIT:
            percent = config.get("percent")
            if not _is_int(percent) or not 0 <= percent <= 100:
                return {"percent": "a whole number from 0 to 100 (the share taking the next branch)"}
        case StepKind.CREATE_LEAD:
            topic = config.get("topic")
            if not isinstance(topic, str) or not topic.strip() or len(topic) > 200:
                return {"topic": "a topic of up to 200 characters is required"}
        case StepKind.UPDATE_FIELD:
            field = config.get("field")
            if field not in engine.UPDATABLE_CONTACT_FIELDS:
                return {"field": f"one of {', '.join(engine.UPDATABLE_CONTACT_FIELDS)}"}
            return _update_field_value_problems(field, config.get("value"))
        case StepKind.LIST_ADD | StepKind.LIST_REMOVE:
            list_id = config.get("list")
            if not _is_int(list_id) or not SubscriptionList.objects.filter(pk=list_id).exists():
                return {"list": f"no subscription list {list_id!r}"}
        case StepKind.SEGMENT_ADD | StepKind.SEGMENT_REMOVE:
            if not _is_int(config.get("segment")):
                return {"segment": "a segment id is required"}
            if not adapters.static_segment_exists(config["segment"]):
                return {"segment": f"there is no static segment {config['segment']}"}
        case StepKind.CREATE_TASK:
            title = config.get("title")
            if not isinstance(title, str) or not title.strip() or len(title) > 200:
                return {"title": "a title of up to 200 characters is required"}
            due = config.get("due_in_days")
            if due is not None and (not _is_int(due) or due < 0):
                return {"due_in_days": "a whole number of days >= 0"}
    return {}


def _update_field_value_problems(field: str, value) -> dict[str, str]:
    try:
        value = Contact._meta.get_field(field).clean(value, None)
    except ValidationError as error:
        return {"value": "; ".join(error.messages)}
    withdrawn = engine.CONSENT_WITHDRAWALS.get(field)
    if withdrawn is not None and value != withdrawn:
        allowed = json.dumps(withdrawn)
        return {"value": f"a journey may only withdraw consent: {field} can only be set to {allowed}"}
    return {}


def _form_trigger_problems(config: dict) -> dict[str, list[str]]:
    """A form_submit trigger names a landing page (its id, or slug) and/or a form (a page's slug)."""
    page, form = config.get("page"), config.get("form")
    if page in (None, "") and not form:
        return {
            "trigger_config": ["a form_submit trigger needs {'page': <landing page id>} or {'form': <slug>}"]
        }
    if page not in (None, "") and adapters.landing_page_id(page) is None:
        return {"trigger_config": [f"no landing page with id or slug {page!r}"]}
    if form is not None and not isinstance(form, str):
        return {"trigger_config": ["'form' must be a landing page's slug"]}
    return {}


def validate_entry(data: dict) -> dict[str, list[str]]:
    """Problems of a journey's entry and exit settings."""
    errors: dict[str, list[str]] = {
        path: [message]
        for name in ("trigger_config", "exit_condition", "name", "description")
        for path, message in unstorable_text_problems(data.get(name), name)
    }
    if errors:
        return errors
    entry_type = data.get("entry_type", EntryType.SEGMENT)
    if entry_type == EntryType.SEGMENT:
        if not _is_int(data.get("entry_segment_id")):
            errors["entry_segment_id"] = ["a segment journey needs its entry segment"]
    else:
        kind, config = data.get("trigger_kind"), data.get("trigger_config") or {}
        if kind not in TriggerKind.values:
            errors["trigger_kind"] = [f"one of {', '.join(TriggerKind.values)}"]
        elif not isinstance(config, dict):
            errors["trigger_config"] = ["must be an object"]
        elif kind == TriggerKind.FORM_SUBMIT:
            errors.update(_form_trigger_problems(config))
        elif kind == TriggerKind.INTERACTION and config.get("kind") not in InteractionKind.values:
            errors["trigger_config"] = [f"'kind' must be one of {', '.join(InteractionKind.values)}"]
        elif kind == TriggerKind.FIELD_CHANGED and config.get("field") not in TRIGGER_FIELDS:
            errors["trigger_config"] = [f"'field' must be one of {', '.join(TRIGGER_FIELDS)}"]
    if data.get("exit_condition"):
        problems = adapters.validate_contact_condition(data["exit_condition"])
        if problems:
            errors["exit_condition"] = [f"{p['path']}: {p['message']}" for p in problems]
    return errors


# --- Definitions ------------------------------------------------------------------------------------


@transaction.atomic
def journey_create(*, data: dict, steps: list[dict], created_by=None) -> Journey:
    journey = Journey.objects.create(**data, created_by=created_by)
    _steps_replace(journey=journey, steps=steps)
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
    created = Step.objects.bulk_create(
        [
            Step(journey=journey, key=s["key"], kind=s["kind"], config=s.get("config", {}), position=i)
            for i, s in enumerate(steps)
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
            for position, url in enumerate(emails.extract_links(step.config["html"]))
        ]
    )


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
    from .tasks import journeys_tick

    transaction.on_commit(journeys_tick.delay)
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


# --- The tick ------------------------------------------------------------------------------------


@dataclass
class TickReport:
    entered: int = 0
    exited: int = 0
    dispatched: int = 0
    released_claims: int = 0
    resent: int = 0


def journeys_tick(
    *, now: datetime | None = None, batch_size: int | None = None, inline: bool = False
) -> TickReport:
    """Enter, exit, hand due enrollments to workers in batches, and sweep the outbox.
    Safe to run twice at once: journeys are locked while entering, due enrollments are leased with
    SKIP LOCKED, and every worker re-checks under its own row locks. `inline` runs the batches in
    this process instead of enqueueing them (tests, debugging)."""
    from .tasks import journeys_run_batch, journeys_send_outbox

    now = now or timezone.now()
    batch_size = batch_size or engine.setting("JOURNEYS_BATCH_SIZE", DEFAULT_BATCH_SIZE)
    report = TickReport(released_claims=engine.release_dead_claims())
    for journey_id in engine.live_journeys().values_list("id", flat=True):
        with transaction.atomic():
            # FOR NO KEY UPDATE: overlapping ticks exclude each other, but workers inserting rows that
            # reference the journey (their foreign-key checks take KEY SHARE) are not blocked, so a
            # tick waiting on a worker's rows can never deadlock with that worker.
            journey = (
                Journey.objects.select_for_update(skip_locked=True, no_key=True)
                .filter(pk=journey_id, status=JourneyStatus.LIVE)
                .first()
            )
            if journey is None:  # another tick is on it, or it stopped meanwhile
                continue
            report.exited += engine.apply_exits(journey=journey, now=now)
            report.entered += engine.enter_contacts(journey=journey, now=now)
            journey.entry_cursor = now
            journey.save(update_fields=["entry_cursor"])
    # Lease in growing chunks (one batch first, so workers start at once, then doubling up to
    # LEASE_MAX), each continuing behind the last in the due index's order; hand each chunk over in
    # batches. A chunk's statement looks at the due rows still ahead, so few big chunks beat many
    # small ones.
    limit = engine.setting("JOURNEYS_TICK_MAX_DISPATCH", 200_000)
    size, after = batch_size, None
    while report.dispatched < limit:
        leased = engine.claim_due(now=now, limit=min(size, limit - report.dispatched), after=after)
        if not leased:
            break
        after = leased[-1]
        report.dispatched += len(leased)
        size = min(2 * size, max(batch_size, LEASE_MAX))
        for start in range(0, len(leased), batch_size):
            chunk = sorted(enrollment_id for _, enrollment_id in leased[start : start + batch_size])
            if inline:
                enrollments_run(enrollment_ids=chunk, now=now)
            else:
                journeys_run_batch.delay(chunk)
    sweep_age = timedelta(seconds=engine.setting("JOURNEYS_OUTBOX_SWEEP_SECONDS", 120))
    pending = engine.pending_outbox_ids(older_than=now - sweep_age, limit=50_000)
    report.resent = len(pending)
    for start in range(0, len(pending), batch_size):
        chunk = pending[start : start + batch_size]
        if inline:
            engine.send_outbox(outbox_ids=chunk)
        else:
            journeys_send_outbox.delay(chunk)
    return report


def enrollments_run(*, enrollment_ids: list[int], now: datetime | None = None) -> int:
    """Run a batch of enrollments, then send the emails it queued (after its commit)."""
    with engine.sender_claim() as claim:
        outbox_ids = engine.run_batch(enrollment_ids=enrollment_ids, now=now, claim=claim)
        return engine.send_claimed(outbox_ids, claim)


# --- Tracking ------------------------------------------------------------------------------------


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
        outbox_id = emails.read_open_token(token)
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
        outbox_id, position = emails.read_click_token(token)
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
