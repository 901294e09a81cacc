"""Events in the workspace: the list (date, capacity, registrations, attended), create and edit,
and an event's registrations, where attendance is marked.

Everyone who may see events reads these pages; creating, editing and marking attendance are for
the roles `crm_core.access.check_event_manage` allows (the API's rule). Writes go through
`crm_core/services/event_registrations.py` in one transaction: `event_create` / `event_update`
validate like the API (a field error re-renders the form, 400, nothing saved) and
`registration_attend` records the attendance interaction once.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Q
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_POST

from crm_core import access, services
from crm_core.models import Event, EventRegistration

from .paging import OUTDATED_CURSOR, InvalidCursor, keyset_section

PAGE_SIZE = 50
REGISTRATIONS_PAGE_SIZE = 50


class EventForm(forms.Form):
    """The fields the service takes; the service's `full_clean` repeats the model's checks."""

    name = forms.CharField(max_length=200)
    starts_at = forms.DateTimeField(
        required=False,
        label="Starts at",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        help_text="Leave empty while the date is open.",
    )
    location = forms.CharField(max_length=200, required=False)
    capacity = forms.IntegerField(min_value=1, required=False, help_text="Places offered; empty: no limit.")


def _event(pk) -> Event:
    try:
        return Event.objects.get(pk=pk)
    except Event.DoesNotExist as exc:
        raise Http404("No such event.") from exc


def _with_counts(events):
    return events.annotate(
        registration_count=Count("registrations"),
        attended_count=Count("registrations", filter=Q(registrations__attended=True)),
    )


@login_required
@permission_required("crm_core.view_event", raise_exception=True)
def event_list_page(request):
    try:
        page = keyset_section(request, _with_counts(Event.objects.all()), ordering=("-id",), size=PAGE_SIZE)
    except InvalidCursor:
        messages.error(request, OUTDATED_CURSOR)
        return render(request, "workspace/event_list.html", {"page": None}, status=400)
    context = {"page": page, "can_manage": access.may_manage_events(request.user)}
    return render(request, "workspace/event_list.html", context)


def _errors_onto(form: forms.Form, error: ValidationError) -> None:
    by_field = error.message_dict if hasattr(error, "error_dict") else {None: error.messages}
    for name, field_messages in by_field.items():
        form.add_error(name if name in form.fields else None, field_messages)


@login_required
def event_edit(request, pk=None):
    """Create (no pk) or edit an event: GET shows the form, POST saves through the service."""
    access.check_event_manage(request.user)
    event = _event(pk) if pk is not None else None
    initial = {}
    if event is not None:
        initial = {n: getattr(event, n) for n in ("name", "starts_at", "location", "capacity")}
    form = EventForm(request.POST or None, initial=initial)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                with transaction.atomic():
                    if event is None:
                        event = services.event_create(actor=request.user, **form.cleaned_data)
                    else:
                        services.event_update(event=event, actor=request.user, **form.cleaned_data)
            except ValidationError as error:
                _errors_onto(form, error)
                if pk is None:
                    event = None
            else:
                messages.success(request, f"Event “{event.name}” saved.")
                return redirect("workspace:event-detail", pk=event.pk)
    return render(request, "workspace/event_form.html", {"form": form, "event": event}, status=status)


@login_required
@permission_required("crm_core.view_event", raise_exception=True)
def event_detail_page(request, pk):
    try:
        event = _with_counts(Event.objects.filter(pk=pk)).get()
    except Event.DoesNotExist as exc:
        raise Http404("No such event.") from exc
    registrations = EventRegistration.objects.filter(event=event).select_related("contact")
    context = {"event": event, "can_manage": access.may_manage_events(request.user)}
    try:
        context["section"] = keyset_section(
            request, registrations, ordering=("-id",), size=REGISTRATIONS_PAGE_SIZE
        )
    except InvalidCursor:
        messages.error(request, OUTDATED_CURSOR)
        return render(request, "workspace/event_detail.html", {**context, "section": None}, status=400)
    return render(request, "workspace/event_detail.html", context)


@login_required
@require_POST
def registration_attend(request, pk, registration_pk):
    """Mark a registration attended (once: the attendance interaction is recorded once)."""
    access.check_event_manage(request.user)
    registration = (
        EventRegistration.objects.filter(pk=registration_pk, event_id=pk)
        .select_related("event", "contact")
        .first()
    )
    if registration is None:
        raise Http404("No such registration of this event.")
    was = registration.attended
    services.registration_attend(registration=registration, actor=request.user)
    who = registration.contact.email or f"contact {registration.contact_id}"
    if was:
        messages.info(request, f"{who} was already marked attended.")
    else:
        messages.success(request, f"{who} marked attended.")
    url = reverse("workspace:event-detail", args=[pk])
    cursor = request.POST.get("cursor") or ""  # back to the page of registrations it was on
    return redirect(f"{url}?{urlencode({'cursor': cursor})}" if cursor else url)
