"""Error pages inside the workspace's shell: 403, 404 and 405 say why and offer a way back.

Under /api/ the answers stay JSON (`{"detail": ...}`, like DRF's). A request from htmx gets only the
message (it is swapped into the page that asked), every other request the whole page.
"""

from __future__ import annotations

from django.http import JsonResponse
from django.shortcuts import render
from django.urls import Resolver404, resolve
from django.utils.http import url_has_allowed_host_and_scheme

from crm_core.api.exceptions import not_found as api_not_found

FORBIDDEN_DEFAULT = "Your account does not have the permission this page needs."
NOT_FOUND_DEFAULT = "There is no page at this address, or the record it named no longer exists."


def _is_api(request) -> bool:
    return request.path.startswith("/api/")


def _reason(exception, default: str) -> str:
    """The message an exception was raised with (e.g. crm_core.access.AccessDenied's), else `default`.
    Django's URL resolver raises Http404 with a dict of tried patterns: not a reason for people."""
    message = exception.args[0] if exception is not None and exception.args else None
    return message if isinstance(message, str) and message.strip() else default


def _way_up(path: str) -> str | None:
    """The nearest page above `path` (e.g. a lead's page above its /accept/ action), if one exists."""
    parts = [p for p in path.strip("/").split("/") if p]
    while parts:
        parts.pop()
        candidate = "/" + "".join(f"{p}/" for p in parts)
        try:
            match = resolve(candidate)
        except Resolver404:
            continue
        if "action" not in match.kwargs:
            return candidate
    return None


def _back_link(request) -> str | None:
    """The page the visitor came from, if it is ours and not this very address."""
    referer = request.META.get("HTTP_REFERER", "")
    ours = referer and url_has_allowed_host_and_scheme(
        referer, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return referer if ours and not referer.split("?")[0].endswith(request.path) else None


def error_page(request, *, status: int, title: str, reason: str, hint: str = "", headers=None, page=False):
    """The error as the shell's page (or its htmx fragment); JSON under /api/ unless `page` (a page
    that lives under /api/, like the docs)."""
    if _is_api(request) and not page:
        return JsonResponse({"detail": reason}, status=status, headers=headers)
    context = {
        "status": status,
        "title": title,
        "reason": reason,
        "hint": hint,
        "back_url": _back_link(request),
        "up_url": None if _is_api(request) else _way_up(request.path),
    }
    fragment = request.headers.get("HX-Request")  # swapped into the page that asked
    template = "workspace/_error_message.html" if fragment else "workspace/error.html"
    response = render(request, template, context, status=status)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def permission_denied(request, exception=None):
    """handler403: the reason the check gave (crm_core/access.py says who may and why)."""
    return error_page(request, status=403, title="Not allowed", reason=_reason(exception, FORBIDDEN_DEFAULT))


def page_not_found(request, exception=None):
    """handler404: under /api/ the JSON the schema documents; elsewhere the page."""
    if _is_api(request):
        return api_not_found(request, exception)
    return error_page(request, status=404, title="Not found", reason=_reason(exception, NOT_FOUND_DEFAULT))


def method_not_allowed(request, allowed: str):
    """The page for a 405 (workspace.middleware.ErrorPagesMiddleware fills in Django's empty one)."""
    methods = [m.strip() for m in allowed.split(",") if m.strip()]
    only = " or ".join(methods) or "another method"
    if methods == ["POST"]:
        reason = "This address runs an action: it is sent by a button on a page, not opened as a page."
        hint = (
            "Reloading or bookmarking the address of an action (for example after it failed) opens "
            "it as a page. Go back to the page and use its button again."
        )
    else:
        reason = f"This address answers {only} requests, not {request.method}."
        hint = ""
    return error_page(
        request,
        status=405,
        title="Not a page",
        reason=reason,
        hint=hint,
        headers={"Allow": allowed},
    )
