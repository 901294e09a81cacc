"""Request parsers that refuse a body over the documented limit with 413.

Django enforces DATA_UPLOAD_MAX_MEMORY_SIZE only when `request.body` or
`request.POST` is read; DRF's parsers read the raw stream and would accept a
body of any size. These parsers check the declared length first and never
read more than the limit (chunked bodies without a length included).
"""

from __future__ import annotations

import io

from django.conf import settings
from rest_framework import parsers
from rest_framework.exceptions import APIException, ParseError


class RequestBodyTooLarge(APIException):
    status_code = 413
    default_code = "request_too_large"

    def __init__(self, limit: int):
        super().__init__(f"Request body too large: the limit is {limit} bytes (MAX_REQUEST_BODY_BYTES).")


def max_body_bytes() -> int:
    return int(getattr(settings, "MAX_REQUEST_BODY_BYTES", settings.DATA_UPLOAD_MAX_MEMORY_SIZE))


def bounded_stream(stream, parser_context):
    """The body as a stream of at most the limit; 413 when the body is larger."""
    limit = max_body_bytes()
    request = (parser_context or {}).get("request")
    meta = getattr(request, "META", {}) if request is not None else {}
    try:
        declared = int(meta.get("CONTENT_LENGTH") or 0)
    except (TypeError, ValueError):
        declared = 0
    if declared > limit:
        raise RequestBodyTooLarge(limit)
    body = stream.read(limit + 1)
    if len(body) > limit:
        raise RequestBodyTooLarge(limit)
    return io.BytesIO(body)


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        stream = bounded_stream(stream, parser_context)
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError as exc:  # a pathologically nested document
            raise ParseError("JSON parse error - nested too deeply") from exc


class FormParser(parsers.FormParser):
    def parse(self, stream, media_type=None, parser_context=None):
        return super().parse(bounded_stream(stream, parser_context), media_type, parser_context)


class MultiPartParser(parsers.MultiPartParser):
    """Multipart bodies are bounded by Django itself (RequestDataTooBig, turned into 413)."""

    def parse(self, stream, media_type=None, parser_context=None):
        limit = max_body_bytes()
        request = (parser_context or {}).get("request")
        try:
            declared = int(request.META.get("CONTENT_LENGTH") or 0) if request is not None else 0
        except (TypeError, ValueError):
            declared = 0
        if declared > limit:
            raise RequestBodyTooLarge(limit)
        return super().parse(stream, media_type, parser_context)
