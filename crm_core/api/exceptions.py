"""The API's exception handler: DRF's, plus the Django errors that must not become a 500."""

from __future__ import annotations

from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent, ValidationError
from django.db.models import ProtectedError, RestrictedError
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from crm_core.custom_fields import CustomValuesInvalid
from crm_core.services import CustomFieldInUse

from .parsers import max_body_bytes


def exception_handler(exc, context):
    if isinstance(exc, RequestDataTooBig):
        limit = max_body_bytes()
        return Response(
            {"detail": f"Request body too large: the limit is {limit} bytes (MAX_REQUEST_BODY_BYTES)."},
            status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
        )
    if isinstance(exc, TooManyFieldsSent | TooManyFilesSent):
        return Response({"detail": str(exc) or "Too many fields."}, status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, CustomFieldInUse):
        return Response({"detail": str(exc), "usages": exc.usages}, status=status.HTTP_409_CONFLICT)
    if isinstance(exc, ProtectedError | RestrictedError):
        blocking = sorted({str(obj._meta.verbose_name_plural) for obj in list(exc.args[1])[:100]})
        return Response(
            {"detail": f"Cannot delete: still referenced by {', '.join(blocking) or 'other records'}."},
            status=status.HTTP_409_CONFLICT,
        )
    if isinstance(exc, CustomValuesInvalid):  # custom values: {"custom": {key: [message]}}
        return Response({"custom": exc.errors}, status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, ValidationError):  # a service refusing a change its rules do not allow
        body = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        return Response(body, status=status.HTTP_400_BAD_REQUEST)
    return drf_exception_handler(exc, context)


def not_found(request, exception=None):
    """handler404: under /api/ a path no route matches (an id like `1.5`) answers JSON like DRF's
    404s, as the schema documents; elsewhere Django's HTML page."""
    from django.http import JsonResponse
    from django.views.defaults import page_not_found

    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Not found."}, status=404)
    return page_not_found(request, exception)
