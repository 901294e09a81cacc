"""The public form of a landing page, built from its FormField rows; it validates submissions too."""

from __future__ import annotations

from django import forms
from django.utils.datastructures import MultiValueDict

from crm_core import custom_fields
from crm_core.models import JobRole

from .models import FieldType, FormField, LandingPage

TOKEN_FIELD = "_token"
HONEYPOT_FIELD = "_website"
CONSENT_FIELD = "_consent"
CHOOSE = ("", "Choose…")  # a choice field's empty option
# The signed prefill link's token, carried by the form of a visitor who came through it.
IDENTITY_FIELD = "_ct"
SYSTEM_FIELDS = (TOKEN_FIELD, HONEYPOT_FIELD, CONSENT_FIELD)

MAX_FIELD_LENGTH = 5000


def _django_field(field: FormField, custom: dict[str, dict] | None = None) -> forms.Field:
    common = {"label": field.label, "required": field.required}
    custom = custom or {}
    target = custom.get("contact_field", {}).get(field.contact_field) or custom.get("lead_field", {}).get(
        field.lead_field
    )
    if target is not None:  # a custom field: its own input, validated by its type
        return custom_fields.form_field(target, required=field.required, label=field.label)
    max_length = min(field.max_length or 200, MAX_FIELD_LENGTH)
    if "job_role" in (field.contact_field, field.lead_field):
        return forms.ChoiceField(choices=[CHOOSE, *JobRole.choices], **common)
    if field.field_type == FieldType.EMAIL:
        return forms.EmailField(max_length=min(max_length, 254), **common)
    if field.field_type == FieldType.TEXTAREA:
        return forms.CharField(max_length=max_length, widget=forms.Textarea(attrs={"rows": 4}), **common)
    if field.field_type == FieldType.CHOICE:
        values = [str(v) for v in field.choices or []]
        return forms.ChoiceField(choices=[CHOOSE, *((v, v) for v in values)], **common)
    if field.field_type == FieldType.CHECKBOX:
        return forms.BooleanField(**common)
    return forms.CharField(max_length=max_length, **common)


def _custom_targets(page_fields: list[FormField]) -> dict[str, dict]:
    """The custom fields the form may map to, per attribute then `custom.<key>` (a query only for
    an entity some form field maps a custom field of)."""
    return {
        attribute: {d.name: d for d in custom_fields.definitions(entity)}
        if any(getattr(f, attribute).startswith(custom_fields.PREFIX) for f in page_fields)
        else {}
        for attribute, entity in (("contact_field", "contact"), ("lead_field", "lead"))
    }


class LandingForm(forms.Form):
    """Fields come from the page; the consent checkbox is added when the page has consent text."""

    def __init__(self, *args, page: LandingPage, page_fields: list[FormField] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.page = page
        self.page_fields = page_fields if page_fields is not None else list(page.fields.all())
        custom = _custom_targets(self.page_fields)
        for field in self.page_fields:
            self.fields[field.name] = _django_field(field, custom)
        if page.consent_text:
            self.fields[CONSENT_FIELD] = forms.BooleanField(
                label=page.consent_text, required=page.consent_required
            )

    def mapped(self, target: str) -> dict[str, object]:
        """Cleaned, non-empty values by the contact (`target="contact"`) or lead field they map to;
        custom fields' values (as `custom_fields.value_clean` takes them) under "custom" by key."""
        values: dict[str, object] = {}
        for field in self.page_fields:
            name = getattr(field, f"{target}_field")
            value = self.cleaned_data.get(field.name)
            if not name or value in (None, "", []):
                continue
            value = value.strip() if isinstance(value, str) else value
            if name.startswith(custom_fields.PREFIX):
                values.setdefault("custom", {}).update(custom_fields.form_values({name: value}))
            else:
                values[name] = value
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
