"""The page where marketers and admins define custom fields (contact, account, lead) and delete
unused ones; everyone who can see contacts may look. Writes go through crm_core's services."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import ValidationError
from django.db import transaction
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from crm_core import access
from crm_core.models import CustomField, CustomFieldEntity, CustomFieldType
from crm_core.services import CustomFieldInUse, custom_field_create, custom_field_delete, custom_field_update


class CustomFieldForm(forms.Form):
    entity = forms.ChoiceField(choices=CustomFieldEntity.choices)
    label = forms.CharField(max_length=100)
    key = forms.CharField(max_length=25, help_text="Lower-case letters, digits, _; never changes.")
    field_type = forms.ChoiceField(choices=CustomFieldType.choices, label="Type")
    required = forms.BooleanField(required=False)
    choices = forms.CharField(required=False, help_text="For choice types: values, comma-separated.")

    def clean_choices(self):
        return [part.strip() for part in self.cleaned_data["choices"].split(",") if part.strip()]


class LabelForm(forms.Form):
    label = forms.CharField(max_length=100)


def _errors_onto(form: forms.Form, error: ValidationError) -> None:
    for name, messages_ in (
        error.message_dict if hasattr(error, "error_dict") else {None: error.messages}
    ).items():
        form.add_error(name if name in form.fields else None, messages_)


@login_required
@permission_required("crm_core.view_customfield", raise_exception=True)
def custom_field_list_page(request):
    can_edit = access.may_define_custom_fields(request.user)
    form = CustomFieldForm(request.POST or None)
    if request.method == "POST":
        access.check_custom_field_define(request.user)
        if form.is_valid():
            try:
                with transaction.atomic():  # a refused field leaves the request's transaction usable
                    made = custom_field_create(actor=request.user, **form.cleaned_data)
            except ValidationError as error:
                _errors_onto(form, error)
            else:
                messages.success(
                    request, f"Custom field “{made.label}” ({made.name}) added to {made.entity}."
                )
                return redirect("workspace:custom-field-list")
    fields = CustomField.objects.order_by("entity", "ordering", "id")
    return render(
        request, "workspace/custom_fields.html", {"fields": fields, "form": form, "can_edit": can_edit}
    )


@login_required
@require_POST
def custom_field_label(request, pk):
    access.check_custom_field_define(request.user)
    field = get_object_or_404(CustomField, pk=pk)
    form = LabelForm(request.POST)
    if form.is_valid():
        custom_field_update(custom_field=field, actor=request.user, label=form.cleaned_data["label"])
        messages.success(request, f"Renamed to “{field.label}”; {field.name} is unchanged.")
    else:
        messages.error(request, "A label is needed.")
    return redirect("workspace:custom-field-list")


@login_required
@require_POST
def custom_field_delete_view(request, pk):
    access.check_custom_field_define(request.user)
    field = get_object_or_404(CustomField, pk=pk)
    try:
        with transaction.atomic():
            custom_field_delete(custom_field=field, actor=request.user)
    except CustomFieldInUse as in_use:
        messages.error(request, f"“{field.label}” is still used: " + "; ".join(in_use.usages) + ".")
    else:
        messages.success(request, f"Custom field “{field.label}” deleted.")
    return redirect("workspace:custom-field-list")
