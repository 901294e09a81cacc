"""The journey designer's pages: the flow of step cards with the side panel (a form per step kind),
the settings form, and the go-live confirmation. Marketers edit; sales read."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from crm_core.models import Contact, InteractionKind, SubscriptionList

from . import adapters, selectors, services
from .designer import edits, flow
from .designer.settings_form import form_values, settings_choices, settings_from_post
from .designer.step_forms import DEFAULTS, StepForm, config_from_form, posted_values, values_from_config
from .engine.steps.update_field import CONSENT_WITHDRAWALS, UPDATABLE_CONTACT_FIELDS
from .launch import launch_preview
from .models import BRANCHING_KINDS, EmailTemplate, Journey, JourneyStatus, StepKind

PALETTE = [
    (StepKind.SEND_EMAIL, "Send email"),
    (StepKind.WAIT_DURATION, "Wait"),
    (StepKind.WAIT_UNTIL, "Wait until a date"),
    (StepKind.IF_CONDITION, "If / then"),
    (StepKind.IF_INTERACTION, "If they interacted"),
    (StepKind.SPLIT, "A/B split"),
    (StepKind.CREATE_LEAD, "Create lead"),
    (StepKind.UPDATE_FIELD, "Update a field"),
    (StepKind.LIST_ADD, "Add to list"),
    (StepKind.LIST_REMOVE, "Remove from list"),
    (StepKind.SEGMENT_ADD, "Add to static segment"),
    (StepKind.SEGMENT_REMOVE, "Remove from static segment"),
    (StepKind.CREATE_TASK, "Create sales task"),
    (StepKind.END, "End"),
]


def require(request, action: str) -> None:
    if not request.user.has_perm(f"journeys.{action}_journey"):
        raise PermissionDenied(f"Only marketers may {action} journeys.")


def _update_fields() -> list[dict]:
    fields = []
    for name in UPDATABLE_CONTACT_FIELDS:
        model_field = Contact._meta.get_field(name)
        label = str(model_field.verbose_name).capitalize()
        withdrawn = CONSENT_WITHDRAWALS.get(name)
        if withdrawn is not None:
            label += f" (set to {'yes' if withdrawn else 'no'}: consent is only ever withdrawn)"
        fields.append(
            {"name": name, "label": label, "choices": model_field.choices, "fixed": withdrawn is not None}
        )
    return fields


def _panel(steps: list[dict], cards: dict, panel: dict | None) -> dict | None:
    """The side panel's choices for the step it shows (pickers by name, never keys)."""
    if panel is None or panel.get("mode") != "step":
        return panel
    key = panel.get("key")
    others = [
        (s["key"], f"Step {cards[s['key']]['number']}: {cards[s['key']]['summary']}")
        for s in steps
        if s["key"] != key
    ]
    kind = panel["form"].kind
    panel.update(
        kind_label=dict(PALETTE).get(kind, kind),
        branching=kind in BRANCHING_KINDS,
        lane_labels=flow.LANE_LABELS.get(kind, ("", "")),
        next_choices=others,
        email_steps=[(k, label) for k, label in others if cards[k]["kind"] == StepKind.SEND_EMAIL],
        templates=EmailTemplate.objects.order_by("name").values_list("pk", "name")[:500],
        lists=SubscriptionList.objects.order_by("name").values_list("pk", "name")[:500],
        static_segments=adapters.static_segment_choices(),
        update_fields=_update_fields(),
        interaction_kinds=InteractionKind.choices,
        time_zone=settings.TIME_ZONE,
    )
    if kind == StepKind.IF_CONDITION:
        panel["registry"] = adapters.condition_registry()
        panel["segments"] = [{"id": pk, "name": name} for pk, name in adapters.segment_names().items()]
    return panel


def _steps_editable(request, journey: Journey) -> bool:
    """Steps change only while the journey is a draft, and only for users who may change journeys."""
    return journey.status == JourneyStatus.DRAFT and request.user.has_perm("journeys.change_journey")


def designer_context(request, journey: Journey, *, panel=None, step_errors=None, **extra) -> dict:
    steps = edits.current_steps(journey)
    stats = selectors.journey_stats(journey=journey)
    cards = flow.cards_for(steps, stats, step_errors or {})
    main, detached = flow.flow(steps, cards)
    editable = _steps_editable(request, journey)
    places = flow.places(steps, cards)
    if panel is None and editable:  # the palette, at the chosen place (else the end of the list)
        panel = {"mode": "palette", "place": request.GET.get("place") or places[-1][0]}
    settings_values = extra.pop("settings_values", None)
    return {
        "journey": journey,
        "can_edit": request.user.has_perm("journeys.change_journey"),
        "editable_steps": editable,
        "stats": stats,
        "main": main,
        "detached": detached,
        "palette": PALETTE,
        "places": places,
        "panel": _panel(steps, cards, panel),
        "ghost_place": panel.get("place") if panel and panel.get("form") and panel["form"].errors else None,
        "settings_values": form_values(post=settings_values) if settings_values else form_values(journey),
        "entry_name": adapters.segment_names().get(journey.entry_segment_id),
        **settings_choices(),
        **extra,
    }


def _requested_panel(request, journey: Journey) -> dict | None:
    """The panel a GET asks for: a step's form (?step=key) or a new step's (?add=kind&place=...).
    Once the journey is past its draft, or for a user who may not change it, a step's panel is read
    only (every field shown, nothing to save) and nothing can be added."""
    readonly = not _steps_editable(request, journey)
    steps = {s["key"]: s for s in edits.current_steps(journey)}
    key, kind = request.GET.get("step"), request.GET.get("add")
    if key in steps:
        step = steps[key]
        values = {
            **values_from_config(step["kind"], step["config"]),
            "next": step.get("next") or "",
            "else": step.get("else") or "",
        }
        return {"mode": "step", "key": key, "form": StepForm(step["kind"], values), "readonly": readonly}
    if kind in StepKind.values and not readonly:
        place = request.GET.get("place") or (f"{list(steps)[-1]}:next" if steps else edits.START)
        return {
            "mode": "step",
            "key": None,
            "place": place,
            "form": StepForm(kind, dict(DEFAULTS.get(kind, {}))),
        }
    return None


@login_required
@require_http_methods(["GET", "POST"])
def journey_designer_page(request, pk: int):
    require(request, "view")
    journey = get_object_or_404(Journey, pk=pk)
    if request.method == "GET":
        context = designer_context(request, journey, panel=_requested_panel(request, journey))
        return render(request, "journeys/detail.html", context)
    require(request, "change")
    action = request.POST.get("action")
    if action == "go-live":
        return redirect("journeys:go-live", pk=journey.pk)
    try:
        with transaction.atomic():
            if action == "settings":
                data, errors = settings_from_post(request.POST)
                if errors:
                    raise ValidationError(errors)
                services.journey_update(journey=journey, data=data)
            elif action == "pause":
                services.journey_pause(journey=journey)
            elif action == "stop":
                services.journey_stop(journey=journey)
            else:
                raise ValidationError({"action": ["unknown action: reload the page and try again"]})
    except ValidationError as error:
        errors = error.message_dict if hasattr(error, "error_dict") else {"": error.messages}
        journey.refresh_from_db()
        context = designer_context(request, journey, settings_errors=errors, settings_values=request.POST)
        return render(request, "journeys/detail.html", context, status=400)
    messages.success(request, "Saved.")
    return redirect("journeys:detail", pk=journey.pk)


def _step_from_post(request, steps: list[dict]) -> tuple[dict, StepForm, str | None]:
    post = request.POST
    key = post.get("key") or None
    existing = next((s for s in steps if s["key"] == key), None)
    kind = existing["kind"] if existing else post.get("kind", "")
    if kind not in StepKind.values or (key and existing is None):
        raise ValidationError({"": ["that step is gone: reload the page"]})
    form = StepForm(kind, posted_values(post))
    step = {"key": key or edits.new_key(steps, kind), "kind": kind, "config": config_from_form(form)}
    if existing:
        step["next"] = post.get("next") or None
        if kind in BRANCHING_KINDS:
            step["else"] = post.get("else") or None
    return step, form, post.get("place") if existing is None else None


@login_required
@require_POST
def journey_step_save(request, pk: int):
    """Add a step (after another, on a lane, or at the start) or save a step's settings; on a
    problem the panel shows what was typed with each problem at its field, and the card too."""
    require(request, "change")
    journey = get_object_or_404(Journey, pk=pk)
    steps = edits.current_steps(journey)
    try:
        step, form, place = _step_from_post(request, steps)
    except ValidationError as error:
        return render(
            request,
            "journeys/detail.html",
            designer_context(request, journey, general_errors=error.messages),
            status=400,
        )
    try:
        changed = (
            edits.insert_step(steps, step, place) if place is not None else edits.replace_step(steps, step)
        )
    except ValueError:
        changed, form.errors = steps, {"place": ["choose where the step goes"]}
    changed = edits.in_flow_order(changed)
    problems = {} if form.errors else services.validate_steps([edits.clean_edges(s) for s in changed])
    by_step, general = edits.errors_by_step(problems, changed)
    for name, messages_ in by_step.pop(step["key"], {}).items():
        if not (name == "condition" and form.condition_problems):
            form.errors.setdefault(name, []).extend(messages_)
    if not form.errors and not by_step and not general:
        try:
            services.journey_update(journey=journey, data={}, steps=changed)
        except ValidationError as error:
            general = error.messages
        else:
            messages.success(request, "Saved.")
            return redirect(f"{reverse('journeys:detail', args=[journey.pk])}?step={step['key']}")
    panel = {"mode": "step", "key": None if place is not None else step["key"], "place": place, "form": form}
    errors = {**by_step, step["key"]: form.errors} if place is None else by_step
    context = designer_context(request, journey, panel=panel, step_errors=errors, general_errors=general)
    return render(request, "journeys/detail.html", context, status=400)


@login_required
@require_POST
def journey_step_delete(request, pk: int):
    require(request, "change")
    journey = get_object_or_404(Journey, pk=pk)
    steps = edits.current_steps(journey)
    changed = edits.in_flow_order(edits.delete_step(steps, request.POST.get("key", "")))
    problems = services.validate_steps(changed)
    if problems:
        by_step, general = edits.errors_by_step(problems, changed)
        general = general or [
            "the step cannot be removed while another step refers to it: change that step first"
        ]
        context = designer_context(request, journey, step_errors=by_step, general_errors=general)
        return render(request, "journeys/detail.html", context, status=400)
    try:
        services.journey_update(journey=journey, data={}, steps=changed)
    except ValidationError as error:
        return render(
            request,
            "journeys/detail.html",
            designer_context(request, journey, general_errors=error.messages),
            status=400,
        )
    messages.success(request, "Step removed.")
    return redirect("journeys:detail", pk=journey.pk)


@login_required
@require_http_methods(["GET", "POST"])
def journey_go_live_page(request, pk: int):
    """Going live asks first: how many contacts enter now, how many emails go out in the first hour."""
    require(request, "change")
    journey = get_object_or_404(Journey, pk=pk)
    if request.method == "POST" and request.POST.get("confirm") == "yes":
        try:
            services.journey_go_live(journey=journey)
        except ValidationError as error:
            errors = error.message_dict if hasattr(error, "error_dict") else {"": error.messages}
            context = {"journey": journey, "preview": launch_preview(journey), "errors": errors}
            return render(request, "journeys/go_live.html", context, status=400)
        messages.success(request, "Live: contacts start entering now.")
        return redirect("journeys:detail", pk=journey.pk)
    context = {"journey": journey, "preview": launch_preview(journey)}
    return render(request, "journeys/go_live.html", context, status=400 if request.method == "POST" else 200)
