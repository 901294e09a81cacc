"""Marketers' pages to list, create and edit landing pages and their form fields, and to re-queue
the submissions that failed."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied
from django.forms import inlineformset_factory
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from .models import FormField, LandingPage, SubmissionStatus
from .selectors import landing_pages_with_failures
from .services import landing_form_problems, landing_page_create, landing_page_update, submissions_requeue
from .services.definitions import mapping_choices

PAGE_FIELDS = [
    "title", "slug", "status", "lead_topic", "content", "contact_matching", "lead_matching", "event",
    "submit_label", "consent_text", "consent_required", "consent_level", "identified_visitors_update",
    "thank_you_message", "redirect_url",
]  # fmt: skip
FIELD_FIELDS = (
    "name",
    "label",
    "field_type",
    "required",
    "max_length",
    "choices",
    "contact_field",
    "lead_field",
)
FAILED_SHOWN = 20


class LandingPageForm(forms.ModelForm):
    class Meta:
        model = LandingPage
        fields = PAGE_FIELDS
        widgets = {"content": forms.Textarea(attrs={"rows": 8})}


class ChoicesField(forms.CharField):
    """The values of a choice field, typed comma-separated."""

    def prepare_value(self, value):
        return ", ".join(value) if isinstance(value, list) else (value or "")

    def to_python(self, value):
        return [part.strip() for part in (super().to_python(value) or "").split(",") if part.strip()]

    def has_changed(self, initial, data):
        # An empty box is no choices: a blank extra row a browser posts is unchanged, not invalid.
        return (initial or []) != self.to_python(data)


class FormFieldForm(forms.ModelForm):
    choices = ChoicesField(required=False, help_text="For a choice field: its values, comma-separated.")

    class Meta:
        model = FormField
        fields = list(FIELD_FIELDS)

    def __init__(self, *args, mapping: dict | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        # Built-in fields, then the custom fields defined now (landing_form_problems checks them).
        for attribute in ("contact_field", "lead_field"):
            choices = (mapping or {}).get(attribute) or mapping_choices(attribute)
            self.fields[attribute] = forms.ChoiceField(
                choices=choices, required=False, label=self.fields[attribute].label
            )


class PageFieldsFormSet(forms.BaseInlineFormSet):
    """A page's form fields, checked together with `landing_form_problems` (the check the API and
    the services use); each problem is shown at the field it is about. Used by the admin too."""

    def get_form_kwargs(self, index):
        if not issubclass(self.form, FormFieldForm):  # the admin's inline form
            return super().get_form_kwargs(index)
        if not hasattr(self, "_mapping"):  # the mapping targets, read once for all rows
            self._mapping = {a: mapping_choices(a) for a in ("contact_field", "lead_field")}
        return {**super().get_form_kwargs(index), "mapping": self._mapping}

    def clean(self):
        super().clean()
        if any(self.errors):
            return
        kept = [f for f in self.forms if f.cleaned_data and not f.cleaned_data.get("DELETE")]
        rows = [f.cleaned_data for f in kept]
        whole = []
        for problem in landing_form_problems(fields=rows, contact_matching=self.instance.contact_matching):
            if problem.row is not None:
                kept[problem.row].add_error(problem.attribute, problem.message)
            else:
                whole.append(problem.message)
        if whole:
            raise forms.ValidationError(whole)


FormFieldFormSet = inlineformset_factory(
    LandingPage,
    FormField,
    form=FormFieldForm,
    formset=PageFieldsFormSet,
    extra=3,
    can_delete=True,
    max_num=50,
    validate_max=True,
)


@login_required
@permission_required("landing.view_landingpage", raise_exception=True)
def landing_page_list(request):
    pages = landing_pages_with_failures().order_by("title", "id")[:500]
    return render(
        request,
        "landing/editor_list.html",
        {"pages": pages, "can_edit": request.user.has_perm("landing.add_landingpage")},
    )


def _save(request, page, form, fields) -> LandingPage:
    data = {name: form.cleaned_data[name] for name in PAGE_FIELDS}
    rows = [
        {name: row[name] for name in FIELD_FIELDS}
        for row in fields.cleaned_data
        if row and not row.get("DELETE")
    ]
    if page is None:
        return landing_page_create(data=data, fields=rows, created_by=request.user)
    return landing_page_update(page=page, data=data, fields=rows)


@login_required
@permission_required("landing.view_landingpage", raise_exception=True)
def landing_page_edit(request, pk=None):
    page = get_object_or_404(LandingPage, pk=pk) if pk is not None else None
    perm = "landing.change_landingpage" if page else "landing.add_landingpage"
    can_edit = request.user.has_perm(perm)
    if request.method == "POST" and not can_edit:
        raise PermissionDenied
    if page is None and not can_edit:
        raise PermissionDenied
    form = LandingPageForm(request.POST or None, instance=page)
    # The fields are checked against the page as edited (its contact matching), so the page first.
    page_valid = request.method == "POST" and form.is_valid()
    fields = FormFieldFormSet(request.POST or None, instance=form.instance, prefix="fields")
    status = 200
    if request.method == "POST":
        if fields.is_valid() and page_valid:
            page = _save(request, page, form, fields)
            messages.success(request, "Landing page saved.")
            return redirect("landing:editor-edit", pk=page.pk)
        status = 400
    if not can_edit:
        for f in list(form.fields.values()) + [f for sub in fields.forms for f in sub.fields.values()]:
            f.disabled = True
    return render(
        request,
        "landing/editor_form.html",
        {
            "page": page,
            "form": form,
            "fields": fields,
            "can_edit": can_edit,
            "failed": _failed_submissions(page),
            "can_requeue": request.user.has_perm("landing.change_formsubmission"),
        },
        status=status,
    )


def _failed_submissions(page: LandingPage | None) -> dict:
    if page is None:
        return {"count": 0, "rows": []}
    failed = page.submissions.filter(status=SubmissionStatus.FAILED).order_by("-received_at", "-id")
    return {"count": failed.count(), "rows": list(failed[:FAILED_SHOWN])}


@login_required
@require_POST
@permission_required("landing.change_formsubmission", raise_exception=True)
def landing_page_requeue_failed(request, pk):
    page = get_object_or_404(LandingPage, pk=pk)
    count = submissions_requeue(submissions=page.submissions.all())
    if count:
        messages.success(request, f"{count} failed submission(s) sent through processing again.")
    else:
        messages.info(request, "This page has no failed submissions.")
    return redirect("landing:editor-edit", pk=page.pk)
