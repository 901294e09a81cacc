"""The public form of a landing page, built from its FormField rows; it validates submissions too."""

from __future__ import annotations

from django import forms
from django.utils.datastructures import MultiValueDict

from crm_core.models import JobRole

from .models import FieldType, FormField, LandingPage

TOKEN_FIELD = "_token"
HONEYPOT_FIELD = "_website"
CONSENT_FIELD = "_consent"
# The signed prefill link's token, carried by the form of a visitor who came through it.
IDENTITY_FIELD = "_ct"
SYSTEM_FIELDS = (TOKEN_FIELD, HONEYPOT_FIELD, CONSENT_FIELD)

MAX_FIELD_LENGTH = 5000


def _django_field(field: FormField) -> forms.Field:
    common = {"label": field.label, "required": field.required}
    max_length = min(field.max_length or 200, MAX_FIELD_LENGTH)
    if "job_role" in (field.contact_field, field.lead_field):
        return forms.ChoiceField(choices=[("", "---------"), *JobRole.choices], **common)
    if field.field_type == FieldType.EMAIL:
        return forms.EmailField(max_length=min(max_length, 254), **common)
    if field.field_type == FieldType.TEXTAREA:
        return forms.CharField(max_length=max_length, widget=forms.Textarea(attrs={"rows": 4}), **common)
    if field.field_type == FieldType.CHOICE:
        values = [str(v) for v in field.choices or []]
        return forms.ChoiceField(choices=[("", "---------"), *((v, v) for v in values)], **common)
    if field.field_type == FieldType.CHECKBOX:
        return forms.BooleanField(**common)
    return forms.CharField(max_length=max_length, **common)


class LandingForm(forms.Form):
    """Fields come from the page; the consent checkbox is added when the page has consent text."""

    def __init__(self, *args, page: LandingPage, page_fields: list[FormField] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.page = page
        self.page_fields = page_fields if page_fields is not None else list(page.fields.all())
        for field in self.page_fields:
            self.fields[field.name] = _django_field(field)
        if page.consent_text:
            self.fields[CONSENT_FIELD] = forms.BooleanField(
                label=page.consent_text, required=page.consent_required
            )

    def mapped(self, target: str) -> dict[str, object]:
        """Cleaned, non-empty values by the contact (`target="contact"`) or lead field they map to."""
        values = {}
        for field in self.page_fields:
            name = getattr(field, f"{target}_field")
            value = self.cleaned_data.get(field.name)
            if name and value not in (None, ""):
                values[name] = value.strip() if isinstance(value, str) else value
        return values

    @property
    def consent_given(self) -> bool:
        return bool(self.cleaned_data.get(CONSENT_FIELD))


def payload_from_post(post) -> dict:
    """The raw submission as JSON: one value per key, a list where a key came more than once."""
    payload = {}
    for key, values in post.lists():
        if key == TOKEN_FIELD:
            continue
        values = [_storable(v) for v in values]
        payload[_storable(key)] = values[0] if len(values) == 1 else values
    return payload


def _storable(value: str) -> str:
    # PostgreSQL's jsonb cannot hold NUL characters; no real person types them.
    return value.replace("\x00", "")


def form_data(payload: dict) -> MultiValueDict:
    return MultiValueDict({k: v if isinstance(v, list) else [v] for k, v in payload.items()})


def form_errors(form: forms.Form) -> dict[str, list[str]]:
    return {name: [str(m) for m in messages] for name, messages in form.errors.items()}
