"""Every operation's schema lists the 4xx answers the API gives, not only its success.

drf-spectacular documents what a view returns on success; the errors come from DRF and our
handlers (crm_core/api/exceptions.py) for every view alike: a bad body or query parameter (400),
no or an expired token (401), a role or access rule (403), an unknown id or cursor (404), a refused
delete (409), a body too large (413) or of another type (415), a throttle (429). This hook adds them
to each operation that does not document that status already, so clients and schema-driven tests
see the whole contract.
"""

from __future__ import annotations

DETAIL = {
    "type": "object",
    "properties": {"detail": {"type": "string"}},
    "required": ["detail"],
}
# Field errors: {"field": ["message", ...] or nested errors}, or a list of messages.
VALIDATION = {
    "oneOf": [
        {"type": "object", "additionalProperties": {}},
        {"type": "array", "items": {}},
    ]
}
COMMON = {
    "400": ("Invalid input: the errors per field or parameter.", "ApiValidationErrors"),
    "401": ("No credentials, or a token that is unknown or expired.", "ApiErrorDetail"),
    "403": ("Not allowed for this user's role or access rules.", "ApiErrorDetail"),
    "404": ("No such record (or not visible to this user), or an invalid page cursor.", "ApiErrorDetail"),
    "429": ("Too many requests; see Retry-After.", "ApiErrorDetail"),
}
WITH_BODY = {
    "413": ("The request body is larger than allowed.", "ApiErrorDetail"),
    "415": ("The request body's content type is not accepted.", "ApiErrorDetail"),
}
ON_DELETE = {"409": ("The record is still referenced and cannot be deleted.", "ApiErrorDetail")}


def _response(description: str, component: str) -> dict:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{component}"}}},
    }


def error_responses(result, generator, request, public):
    """drf-spectacular postprocessing hook: add the shared 4xx answers to every operation."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas.setdefault("ApiErrorDetail", DETAIL)
    schemas.setdefault("ApiValidationErrors", VALIDATION)
    for path_item in result.get("paths", {}).values():
        for method, operation in path_item.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            errors = dict(COMMON)
            if "requestBody" in operation:
                errors.update(WITH_BODY)
            if method == "delete":
                errors.update(ON_DELETE)
            for status, (description, component) in errors.items():
                operation["responses"].setdefault(status, _response(description, component))
    return result
