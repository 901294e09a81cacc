"""Web pages: the public tracking endpoints and the designer (marketers edit, sales read)."""

from __future__ import annotations

import base64
import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from crm_core.models import ConsentLevel, InteractionKind, SubscriptionList

from . import adapters, selectors, services
from .models import EntryType, Journey, JourneyStatus, StepKind, TriggerKind

PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")


@never_cache
@require_GET
def open_pixel(request, token: str):
    try:
        services.email_open_record(token=token, user_agent=request.headers.get("User-Agent", ""))
    except services.TrackingTokenInvalid as error:
        raise Http404("unknown email") from error
    return HttpResponse(PIXEL, content_type="image/gif")


@never_cache
@require_GET
def tracked_click(request, token: str):
    try:
        url = services.email_click_record(token=token, user_agent=request.headers.get("User-Agent", ""))
    except services.TrackingTokenInvalid as error:
        raise Http404("unknown link") from error
    return HttpResponseRedirect(url)


# --- Designer -----------------------------------------------------------------------------------

STEP_HELP = {
    StepKind.SEND_EMAIL: '{"subject": "Hi {{ contact.first_name }}", "html": "<p>...</p>", '
    '"text": "optional"} or a saved email: {"template_id": 1}',
    StepKind.WAIT_DURATION: '{"days": 3} (or seconds / minutes / hours)',
    StepKind.WAIT_UNTIL: '{"until": "2030-01-31T09:00:00Z"}',
    StepKind.IF_CONDITION: '{"condition": {"match": "all", "conditions": [{"field": "job_role", "op": "eq", '
    '"value": "decision_maker"}]}}',
    StepKind.IF_INTERACTION: '{"kind": "email_open", "email_step": "welcome", "wait_up_to_seconds": 259200}',
    StepKind.SPLIT: '{"percent": 50}  (the share that takes "next"; the rest take "else")',
    StepKind.CREATE_LEAD: '{"topic": "Contoso Ltd Conference"}',
    StepKind.UPDATE_FIELD: '{"field": "job_role", "value": "decision_maker"}',
    StepKind.LIST_ADD: '{"list": 1}',
    StepKind.LIST_REMOVE: '{"list": 1}',
    StepKind.SEGMENT_ADD: '{"segment": 1}',
    StepKind.SEGMENT_REMOVE: '{"segment": 1}',
    StepKind.CREATE_TASK: '{"title": "Call them", "due_in_days": 2}',
    StepKind.END: "{}",
}


def _require(request, action: str) -> None:
    if not request.user.has_perm(f"journeys.{action}_journey"):
        raise PermissionDenied


def _int_or_none(value: str):
    value = (value or "").strip()
    return int(value) if value.lstrip("-").isdigit() else None


def _settings_from_post(post) -> dict:
    trigger_config = post.get("trigger_config", "").strip()
    try:
        trigger_config = json.loads(trigger_config) if trigger_config else {}
    except json.JSONDecodeError as error:
        raise ValidationError({"trigger_config": [f"not valid JSON: {error}"]}) from error
    page_id = _int_or_none(post.get("trigger_page"))
    if page_id is not None and isinstance(trigger_config, dict):
        trigger_config = {**trigger_config, "page": page_id}  # the picker stores the page's id
    list_id = _int_or_none(post.get("subscription_list"))
    return {
        "name": post.get("name", "").strip()[:200],
        "description": post.get("description", ""),
        "entry_type": post.get("entry_type", EntryType.SEGMENT),
        "entry_segment_id": _int_or_none(post.get("entry_segment_id")),
        "trigger_kind": post.get("trigger_kind", ""),
        "trigger_config": trigger_config,
        "suppression_segment_id": _int_or_none(post.get("suppression_segment_id")),
        "min_consent_level": _int_or_none(post.get("min_consent_level")) or 0,
        "subscription_list": SubscriptionList.objects.filter(pk=list_id).first() if list_id else None,
        "allow_reentry": post.get("allow_reentry") == "on",
        "exit_on_sales_ready": post.get("exit_on_sales_ready") == "on",
    }


def _check_settings(data: dict) -> None:
    errors = services.validate_entry(data)
    if not data["name"]:
        errors["name"] = ["a name is required"]
    if data["min_consent_level"] not in ConsentLevel.values:
        errors["min_consent_level"] = ["0 to 5"]
    if errors:
        raise ValidationError(errors)


def _steps_from_post(post) -> list[dict]:
    """The step rows of the designer form, in order, without deleted rows; plus the new row if filled."""
    steps = []
    count = _int_or_none(post.get("step_count")) or 0
    for index in [*range(count), "new"]:
        prefix = f"step-{index}-"
        if post.get(prefix + "delete") == "on" or not post.get(prefix + "key", "").strip():
            continue
        raw = post.get(prefix + "config", "").strip() or "{}"
        try:
            config = json.loads(raw)
        except json.JSONDecodeError as error:
            raise ValidationError(
                {f"step {post.get(prefix + 'key')}": [f"config is not valid JSON: {error}"]}
            ) from error
        step = {"key": post[prefix + "key"].strip(), "kind": post.get(prefix + "kind", ""), "config": config}
        step["next"] = post.get(prefix + "next") or None
        if post.get(prefix + "else"):
            step["else"] = post.get(prefix + "else")
        steps.append(step)
    return steps


def _context(journey: Journey | None, **extra) -> dict:
    context = {
        "entry_types": EntryType.choices,
        "trigger_kinds": TriggerKind.choices,
        "step_kinds": StepKind.choices,
        "step_help": [(kind, label, STEP_HELP[kind]) for kind, label in StepKind.choices],
        "consent_levels": ConsentLevel.choices,
        "interaction_kinds": InteractionKind.choices,
        "lists": SubscriptionList.objects.order_by("name")[:200],
        "segment_choices": adapters.segment_choices(),
        "landing_page_choices": adapters.landing_page_choices(),
        **extra,
    }
    if journey is not None:
        steps = list(journey.steps.order_by("position", "id"))
        keys = {s.pk: s.key for s in steps}
        rows = []
        for index, step in enumerate(steps):
            row = selectors.step_representation(step, keys)
            row.update(
                index=index, config_json=json.dumps(step.config, indent=1), label=step.get_kind_display()
            )
            rows.append(row)
        context.update(
            journey=journey,
            steps=rows,
            stats=selectors.journey_stats(journey=journey),
            trigger_config_json=json.dumps(journey.trigger_config),
            editable_steps=journey.status == JourneyStatus.DRAFT,
        )
    return context


@login_required
@require_http_methods(["GET", "POST"])
def journey_list_page(request):
    _require(request, "view")
    if request.method == "POST":
        _require(request, "add")
        try:
            data = _settings_from_post(request.POST)
            _check_settings(data)
            journey = services.journey_create(data=data, steps=[], created_by=request.user)
        except ValidationError as error:
            return render(
                request,
                "journeys/list.html",
                _context(None, journeys=selectors.journey_list(), errors=error.message_dict),
                status=400,
            )
        return redirect("journeys:detail", pk=journey.pk)
    return render(request, "journeys/list.html", _context(None, journeys=selectors.journey_list()))


@login_required
@require_http_methods(["GET", "POST"])
def journey_detail_page(request, pk: int):
    _require(request, "view")
    journey = get_object_or_404(Journey, pk=pk)
    if request.method == "GET":
        return render(
            request,
            "journeys/detail.html",
            _context(journey, can_edit=request.user.has_perm("journeys.change_journey")),
        )
    _require(request, "change")
    action = request.POST.get("action")
    try:
        with transaction.atomic():
            if action == "settings":
                data = _settings_from_post(request.POST)
                _check_settings(data)
                services.journey_update(journey=journey, data=data)
            elif action == "steps":
                steps = _steps_from_post(request.POST)
                errors = services.validate_steps(steps)
                if errors:
                    raise ValidationError(errors)
                services.journey_update(journey=journey, data={}, steps=steps)
            elif action == "go-live":
                services.journey_go_live(journey=journey)
            elif action == "pause":
                services.journey_pause(journey=journey)
            elif action == "stop":
                services.journey_stop(journey=journey)
            else:
                raise ValidationError({"action": [f"unknown action {action!r}"]})
    except ValidationError as error:
        errors = error.message_dict if hasattr(error, "error_dict") else {"": error.messages}
        return render(
            request, "journeys/detail.html", _context(journey, can_edit=True, errors=errors), status=400
        )
    messages.success(request, "Saved.")
    return redirect("journeys:detail", pk=journey.pk)
