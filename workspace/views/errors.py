"""Error pages inside the workspace's shell: 403, 404 and 405 say why and offer a way back.

Under /api/ the answers stay JSON (`{"detail": ...}`, like DRF's). A request from htmx gets only the
message (it is swapped into the page that asked), every other request the whole page.
"""

from __future__ import annotations

from django.db import OperationalError
from django.http import HttpResponse, JsonResponse
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


# SQLSTATEs of a conflict between two writers: deadlock, serialization failure, lock not available.
CONFLICT_SQLSTATES = {"40P01", "40001", "55P03"}
RETRY_AFTER_SECONDS = "2"


def is_write_conflict(error: OperationalError) -> bool:
    """A deadlock, serialization failure or lock timeout (PostgreSQL), or a locked SQLite file: the
    same request sent again will most likely pass. Anything else is the database being unreachable."""
    sqlstate = getattr(error.__cause__, "sqlstate", None)
    return sqlstate in CONFLICT_SQLSTATES or "database is locked" in str(error)


def database_unavailable(request, error: OperationalError):
    """A 503 that says nothing was saved and to try again (with Retry-After), instead of a 500. The
    request's transaction was rolled back as the error left it. If even the shell cannot be drawn
    (the database is gone), a plain page."""
    if is_write_conflict(error):
        reason = (
            "Another change to the same records was being saved at the same moment, so yours was "
            "stopped and nothing of it was saved. Send it again."
        )
    else:
        reason = "The database cannot be reached just now, so nothing was saved. Try again in a moment."
    headers = {"Retry-After": RETRY_AFTER_SECONDS}
    try:
        return error_page(request, status=503, title="Try again", reason=reason, headers=headers)
    except Exception:  # the shell reads the database too (the user, the menu)
        return HttpResponse(reason, status=503, content_type="text/plain; charset=utf-8", headers=headers)
