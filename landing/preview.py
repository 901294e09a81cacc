"""The editor's live preview: a page and its form fields as unsaved objects, read from the editor's
form as it is now (typed, not yet saved or checked), for the public page's own template to draw.

Nothing here is saved. What cannot be drawn is left out (a row without a valid name) or drawn as the
plain default (an unknown field type as text), so the preview follows every keystroke."""

from __future__ import annotations

from django.http import QueryDict

from .forms import MAX_FIELD_LENGTH
from .models import FieldType, FormField, LandingPage, PageStatus, field_name_validator

PREVIEW_ROWS_MAX = 50  # the editor's formset allows as many
CONTENT_MAX = 100_000


def _text(post: QueryDict, name: str, limit: int) -> str:
    return (post.get(name) or "").strip()[:limit]


def _int(value: str | None, default: int) -> int:
    try:
        return int(value or "")
    except ValueError:
        return default


def _row(post: QueryDict, prefix: str) -> FormField | None:
    name = _text(post, f"{prefix}name", 50)
    if not field_name_validator.regex.fullmatch(name) or post.get(f"{prefix}DELETE"):
        return None
    field_type = post.get(f"{prefix}field_type")
    return FormField(
        name=name,
        label=_text(post, f"{prefix}label", 200) or name,
        field_type=field_type if field_type in FieldType.values else FieldType.TEXT,
        required=bool(post.get(f"{prefix}required")),
        max_length=min(max(_int(post.get(f"{prefix}max_length"), 200), 1), MAX_FIELD_LENGTH),
        choices=[c.strip() for c in (post.get(f"{prefix}choices") or "").split(",") if c.strip()][:100],
        contact_field=_text(post, f"{prefix}contact_field", 32),
        lead_field=_text(post, f"{prefix}lead_field", 32),
    )


def preview_page(post: QueryDict, *, prefix: str = "fields") -> tuple[LandingPage, list[FormField]]:
    """The page and its form fields (in order, without repeated names) as the editor has them."""
    status = post.get("status")
    page = LandingPage(
        title=_text(post, "title", 200) or "Untitled page",
        status=status if status in PageStatus.values else PageStatus.DRAFT,
        content=(post.get("content") or "")[:CONTENT_MAX],  # sanitised where it is drawn
        submit_label=_text(post, "submit_label", 100) or "Submit",
        consent_text=_text(post, "consent_text", 500),
        consent_required=bool(post.get("consent_required")),
        thank_you_message=_text(post, "thank_you_message", 5000),
    )
    total = min(max(_int(post.get(f"{prefix}-TOTAL_FORMS"), 0), 0), PREVIEW_ROWS_MAX)
    fields: dict[str, FormField] = {}
    for index in range(total):
        field = _row(post, f"{prefix}-{index}-")
        if field is not None and field.name not in fields:
            fields[field.name] = field
    return page, list(fields.values())
