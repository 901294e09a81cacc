"""Web pages: the public tracking endpoints and the designer (marketers edit, sales read)."""

from __future__ import annotations

import base64
import uuid

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from . import adapters, selectors, services
from .designer.settings_form import form_values, settings_choices, settings_from_post
from .views_designer import require

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


# --- Journey list and create (the designer itself: views_designer.py) -----------------------------


def _list_context(**extra) -> dict:
    names = adapters.segment_names()
    journeys = [(j, names.get(j.entry_segment_id)) for j in selectors.journey_list()]
    values = extra.pop("settings_values", None)
    return {
        "journeys": journeys,
        "create_token": uuid.uuid4().hex,
        "settings_values": form_values(post=values) if values is not None else form_values(),
        **settings_choices(),
        **extra,
    }


@login_required
@require_http_methods(["GET", "POST"])
def journey_list_page(request):
    """The journeys, and the create form: its hidden token makes a double submit (a double click,
    two tabs) create one journey."""
    require(request, "view")
    if request.method == "POST":
        require(request, "add")
        data, errors = settings_from_post(request.POST)
        token = request.POST.get("create_token", "").strip()[:64]
        if errors:
            context = _list_context(settings_errors=errors, settings_values=request.POST)
            context["create_token"] = token or context["create_token"]
            return render(request, "journeys/list.html", context, status=400)
        journey = services.journey_create(
            data=data, steps=[], created_by=request.user, create_token=f"form:{token}" if token else None
        )
        return redirect("journeys:detail", pk=journey.pk)
    return render(request, "journeys/list.html", _list_context())
