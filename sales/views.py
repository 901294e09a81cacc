"""The sales pages: a record's timeline and work panel (htmx fragments on the contact, lead and account
pages), logging activities, creating and completing tasks, and the notifications list.

Writes go through `sales.services` (which ask `crm_core.access`); a refused write is a 403 with the
reason, a bad form a 400 showing what was wrong, nothing half-saved. Fragments answer htmx requests
(forms post with `hx-post` and swap the panel); without htmx the forms redirect back (POST-redirect-GET).
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from crm_core.models import Account, Contact, Lead

from . import selectors, services
from .forms import ActivityForm, NotificationSettingsForm, TaskForm
from .models import Task
from .timeline import FILTERS, InvalidTimeline, kinds_from, timeline_page

MODELS = {"contact": Contact, "lead": Lead, "account": Account}


def _record(request, entity: str, pk: int):
    model = MODELS.get(entity)
    if model is None:
        raise Http404("No such kind of record.")
    if not request.user.has_perm(f"crm_core.view_{entity}"):
        raise PermissionDenied(f"You may not view {entity}s.")
    try:
        return model.objects.get(pk=pk)
    except model.DoesNotExist as exc:
        raise Http404(f"No such {entity}.") from exc


def _is_htmx(request) -> bool:
    return request.headers.get("HX-Request") == "true"


@login_required
@require_GET
def timeline_partial(request, entity, pk):
    """One page of a record's timeline (`?kind=` any of FILTERS, repeated; `?cursor=` the next page)."""
    _record(request, entity, pk)
    selected = request.GET.getlist("kind")
    cursor = request.GET.get("cursor") or None
    try:
        page = timeline_page(entity, pk, kinds=kinds_from(selected), cursor=cursor)
    except InvalidTimeline as error:
        return render(request, "sales/_timeline_error.html", {"error": str(error)}, status=400)
    query = "&".join(f"kind={k}" for k in selected)
    return render(
        request,
        "sales/_timeline.html",
        {"page": page, "entity": entity, "pk": pk, "query": query, "first": cursor is None},
    )


def _work_context(request, entity, record, *, activity_form=None, task_form=None):
    user = request.user
    return {
        "entity": entity,
        "record": record,
        "tasks": selectors.record_open_tasks(entity, record.pk) if user.has_perm("sales.view_task") else [],
        "may_log": user.has_perm("sales.add_activity"),
        "may_task": user.has_perm("sales.add_task"),
        "activity_form": activity_form or ActivityForm(),
        "task_form": task_form or TaskForm(),
        "user_id": user.pk,
    }


@login_required
@require_GET
def work_partial(request, entity, pk):
    """The record's open tasks with "Done" buttons, and the forms to log an activity and add a task."""
    record = _record(request, entity, pk)
    return render(request, "sales/_work.html", _work_context(request, entity, record))


def _back(request, entity, pk):
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return redirect(target)
    return redirect(reverse(f"workspace:{entity}-detail", args=[pk]))


def _after_write(request, entity, record, message: str, **forms):
    if _is_htmx(request):
        response = render(
            request, "sales/_work.html", {**_work_context(request, entity, record, **forms), "done": message}
        )
        response["HX-Trigger"] = "timeline-changed"
        return response
    messages.success(request, message)
    return _back(request, entity, record.pk)


def _invalid(request, entity, record, errors: dict, **forms):
    if _is_htmx(request):
        return render(
            request,
            "sales/_work.html",
            {**_work_context(request, entity, record, **forms), "errors": errors},
            status=400,
        )
    for name, problems in errors.items():
        messages.error(request, f"{name}: {' '.join(str(p) for p in problems)}")
    return render(
        request,
        "sales/work_page.html",
        {**_work_context(request, entity, record, **forms), "errors": errors},
        status=400,
    )


@login_required
@require_POST
def activity_create(request, entity, pk):
    record = _record(request, entity, pk)
    form = ActivityForm(request.POST)
    if not form.is_valid():
        return _invalid(request, entity, record, form.errors, activity_form=form)
    try:
        activity = services.activity_log(actor=request.user, **form.cleaned_data, **{entity: record})
    except ValidationError as error:
        return _invalid(request, entity, record, error.message_dict, activity_form=form)
    return _after_write(request, entity, record, f"Logged: {activity}.")


@login_required
@require_POST
def task_create(request, entity, pk):
    record = _record(request, entity, pk)
    form = TaskForm(request.POST)
    if not form.is_valid():
        return _invalid(request, entity, record, form.errors, task_form=form)
    try:
        task = services.task_create(actor=request.user, **form.cleaned_data, **{entity: record})
    except ValidationError as error:
        return _invalid(request, entity, record, error.message_dict, task_form=form)
    return _after_write(request, entity, record, f"Task added: {task.title}.")


@login_required
@require_POST
def task_complete(request, pk):
    """Mark a task done. From a record's panel (`entity`, `record` in the POST) the panel comes back;
    from the queue the task's row."""
    try:
        task = Task.objects.get(pk=pk)
    except Task.DoesNotExist as exc:
        raise Http404("No such task.") from exc
    task = services.task_complete(actor=request.user, task=task)
    entity = request.POST.get("entity")
    if entity in MODELS and request.POST.get("record", "").isdigit():
        record = _record(request, entity, int(request.POST["record"]))
        return _after_write(request, entity, record, f"Done: {task.title}.")
    if _is_htmx(request):
        return render(request, "sales/_task_row.html", {"task": task})
    messages.success(request, f"Done: {task.title}.")
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return redirect(target)
    return redirect(reverse("workspace:lead-queue"))


def _settings_form(user, data=None):
    from .models import UserSettings

    row = UserSettings.objects.filter(user=user).first() or UserSettings(user=user)
    initial = {name: getattr(row, name) for name in NotificationSettingsForm.base_fields}
    return NotificationSettingsForm(data, initial=initial)


@login_required
def notifications_page(request):
    """The user's notifications (newest first), "mark all read", and which of them also come by email."""
    status = 200
    form = None
    if request.method == "POST":
        if request.POST.get("action") == "settings":
            form = _settings_form(request.user, request.POST)
            if form.is_valid():
                services.user_settings_update(actor=request.user, **form.cleaned_data)
                messages.success(request, "Email settings saved.")
                return redirect(reverse("sales:notifications"))
            status = 400
        else:
            services.notifications_mark_read(actor=request.user)
            return redirect(reverse("sales:notifications"))
    return render(
        request,
        "sales/notifications.html",
        {
            "notifications": selectors.user_notifications(request.user),
            "settings_form": form or _settings_form(request.user),
        },
        status=status,
    )


@login_required
@require_GET
def notifications_badge(request):
    count = selectors.unread_count(request.user)
    return HttpResponse(f"{count}+" if count > 99 else str(count) if count else "")


TIMELINE_FILTERS = list(FILTERS)


@login_required
@require_GET
def journey_tasks_partial(request, journey_id):
    """The tasks a journey's task step created, for the journey page (marketers read tasks)."""
    if not request.user.has_perm("sales.view_task"):
        raise PermissionDenied("You may not view tasks.")
    return render(request, "sales/_journey_tasks.html", {"tasks": selectors.journey_tasks(journey_id)})
