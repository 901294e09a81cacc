"""Custom fields in the admin: their definitions, and on the contact, account and lead forms one
widget per custom field (a number input, a date input, a select, checkboxes, ...) in place of the
raw `custom` JSON, saved through the record services like every other field."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db import transaction

from . import custom_fields
from .models import CustomField
from .services import CustomFieldInUse, custom_field_create, custom_field_delete, custom_field_update
from .services.custom_fields import choices_clean


class CustomValuesAdminMixin:
    """For a ServiceWriteAdmin of an entity with custom fields (`entity`)."""

    entity: str = ""

    def get_form(self, request, obj=None, change=False, **kwargs):
        fields = custom_fields.form_fields(self.entity, required=False if obj is not None else None)
        base = kwargs.get("form", self.form)

        def __init__(form, *args, **kw):
            base.__init__(form, *args, **kw)
            stored = form.instance.custom or {}
            for name in fields:
                form.initial.setdefault(name, stored.get(name.removeprefix(custom_fields.PREFIX)))

        form_class = type(f"{base.__name__}WithCustom", (base,), {**fields, "__init__": __init__})
        return super().get_form(request, obj, change=change, **{**kwargs, "form": form_class})

    def get_exclude(self, request, obj=None):
        return [*(super().get_exclude(request, obj) or ()), "custom"]  # the widgets above instead

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if not self.fieldsets:
            return fieldsets
        names = [f.name for f in custom_fields.definitions(self.entity)]
        return [*fieldsets, ("Custom fields", {"fields": names})] if names else fieldsets


class ChoiceListField(forms.CharField):
    """A choice field's choices, comma-separated, each `value` or `value = Label` (not their JSON), as
    the custom fields page takes them."""

    widget = forms.TextInput(attrs={"size": 60, "placeholder": "gold = Gold customer, silver"})

    def prepare_value(self, value):
        if not isinstance(value, list):
            return value or ""
        lines = []
        for choice in value:
            if isinstance(choice, dict):
                same = choice.get("label") in (None, "", choice.get("value"))
                lines.append(
                    str(choice.get("value")) if same else f"{choice.get('value')} = {choice['label']}"
                )
            else:
                lines.append(str(choice))
        return ", ".join(lines)

    def to_python(self, value):
        choices = []
        for item in (super().to_python(value) or "").split(","):
            choice, _, label = item.partition("=")
            if choice.strip():
                choices.append({"value": choice.strip(), "label": label.strip() or choice.strip()})
        return choices

    def has_changed(self, initial, data):
        return self.prepare_value(initial or []) != self.prepare_value(self.to_python(data))


class CustomFieldAdminForm(forms.ModelForm):
    choices = ChoiceListField(
        required=False,
        help_text="For choice types, comma-separated: a value (a-z, 0-9, _) or value = Label.",
    )

    class Meta:
        model = CustomField
        fields = ("entity", "key", "label", "field_type", "required", "choices", "ordering")

    def clean(self):
        data = super().clean()
        field_type = data.get("field_type") or self.instance.field_type
        if field_type and "choices" in data:
            try:  # the services' check, so a bad list is shown here rather than refused on save
                data["choices"] = choices_clean(field_type, data["choices"])
            except ValidationError as error:
                self.add_error("choices", error.message_dict.get("choices", error.messages))
        return data


@admin.register(CustomField)
class CustomFieldAdmin(admin.ModelAdmin):
    """Definitions, saved and deleted through the services (a field in use is not deleted)."""

    form = CustomFieldAdminForm
    list_display = ("entity", "key", "label", "field_type", "required", "ordering")
    list_filter = ("entity", "field_type")

    def get_readonly_fields(self, request, obj=None):
        return ("entity", "key", "field_type") if obj is not None else ()

    def save_model(self, request, obj, form, change):
        fixed = self.get_readonly_fields(request, obj if change else None)  # a new field sets them all
        values = {n: form.cleaned_data[n] for n in form.cleaned_data if n not in fixed}
        if change:
            saved = custom_field_update(
                custom_field=CustomField.objects.get(pk=obj.pk), actor=request.user, **values
            )
        else:
            saved = custom_field_create(actor=request.user, **values)
        obj.pk = saved.pk
        obj.refresh_from_db()

    def delete_model(self, request, obj):
        try:
            with transaction.atomic():
                custom_field_delete(custom_field=obj, actor=request.user)
        except CustomFieldInUse as in_use:
            self.message_user(request, str(in_use), level=messages.ERROR)

    def delete_queryset(self, request, queryset):
        for field in queryset:
            self.delete_model(request, field)
