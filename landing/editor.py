"""Marketers' pages to list, create and edit landing pages and their form fields, and to re-queue
the submissions that failed."""

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied
from django.forms import inlineformset_factory
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.html import escape
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_POST

from .forms import LandingForm
from .models import FormField, LandingPage, SubmissionStatus
from .preview import preview_page
from .selectors import landing_pages_with_failures
from .services import (
    content_sanitize,
    landing_form_problems,
    landing_page_create,
    landing_page_update,
    submissions_requeue,
)
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
        widgets = {
            "content": forms.Textarea(attrs={"rows": 8}),
            "thank_you_message": forms.Textarea(attrs={"rows": 3}),
        }


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
        # One line above the rows explains these; per row they would repeat on every card.
        for field in self.fields.values():
            field.help_text = ""
        self.fields["choices"].widget.attrs["placeholder"] = "For a choice field: a, b, c"
        # Built-in fields, then the custom fields defined now (landing_form_problems checks them).
        for attribute in ("contact_field", "lead_field"):
            choices = (mapping or {}).get(attribute) or mapping_choices(attribute)
            self.fields[attribute] = forms.ChoiceField(
                choices=choices, required=False, label=self.fields[attribute].label
            )


class PageFieldsFormSet(forms.BaseInlineFormSet):
    """A page's form fields, checked together with `landing_form_problems` (the check the API and
    the services use); each problem is shown at the field it is about: a row's at the row's field, a
    page setting's (the contact matching) at the page form's field when `page_form` is given. Used
    by the admin too."""

    def __init__(self, *args, page_form: forms.ModelForm | None = None, **kwargs):
        self.page_form = page_form
        super().__init__(*args, **kwargs)

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
            elif self.page_form is not None and problem.attribute in self.page_form.fields:
                self.page_form.add_error(problem.attribute, problem.message)  # the page is not saved
            else:
                whole.append(problem.message)
        if whole:
            raise forms.ValidationError(whole)


def _field_formset(extra: int):
    return inlineformset_factory(
        LandingPage,
        FormField,
        form=FormFieldForm,
        formset=PageFieldsFormSet,
        extra=extra,
        can_delete=True,
        max_num=50,
        validate_max=True,
    )


# A new page starts with three empty rows, a saved page with one; "Add a field" (editor.js) adds more.
FormFieldFormSet = _field_formset(extra=1)
NewPageFieldFormSet = _field_formset(extra=3)


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
    if request.method == "POST":
        form.is_valid()
    formset = FormFieldFormSet if page else NewPageFieldFormSet
    fields = formset(request.POST or None, instance=form.instance, prefix="fields", page_form=form)
    status = 200
    if request.method == "POST":
        # The fields' check may add an error to the page form (its contact matching): ask it again.
        if fields.is_valid() and form.is_valid():
            page = _save(request, page, form, fields)
            messages.success(request, "Landing page saved.")
            return redirect("landing:editor-edit", pk=page.pk)
        status = 400
    if not can_edit:
        for f in list(form.fields.values()) + [f for sub in fields.forms for f in sub.fields.values()]:
            f.disabled = True
    context = {
        "page": page,
        "form": form,
        "fields": fields,
        "can_edit": can_edit,
        "error_summary": error_summary(form, fields) if status == 400 else [],
        "failed": _failed_submissions(page),
        "can_requeue": request.user.has_perm("landing.change_formsubmission"),
        "embed": _embed(page),
        **_preview_context(*(preview_page(request.POST) if request.POST else _saved_preview(page))),
    }
    return render(request, "landing/editor_form.html", context, status=status)


def error_summary(form: forms.ModelForm, fields: PageFieldsFormSet) -> list[dict]:
    """Every problem of a refused save, each with a link to the input it is about (the summary at
    the top of a long page): the page's fields in order, the form fields', then each row's."""
    items = [{"href": "#landing-editor", "text": m} for m in form.errors.get(NON_FIELD_ERRORS, [])]
    for bound in form:
        items += [{"href": f"#{bound.id_for_label}", "text": f"{bound.label}: {m}"} for m in bound.errors]
    items += [{"href": "#form-fields", "text": f"Form fields: {m}"} for m in fields.non_form_errors()]
    for index, row in enumerate(fields.forms):
        name = row["name"].value() or ""
        where = f"Form field {index + 1}" + (f" “{name}”" if name else "")
        items += [{"href": f"#field-row-{index}", "text": f"{where}: {m}"} for m in row.non_field_errors()]
        for bound in row:
            link = f"#{bound.id_for_label}"
            items += [{"href": link, "text": f"{where}, {bound.label}: {m}"} for m in bound.errors]
    return items


def _embed(page: LandingPage | None) -> dict:
    """The snippet that shows the page's form on another site: an iframe of its embeddable variant."""
    if page is None:
        return {}
    url = settings.SITE_URL.rstrip("/") + reverse("landing:page-embed", args=[page.slug])
    snippet = (
        f'<iframe src="{url}" title="{escape(page.title)}" width="100%" height="760" loading="lazy" '
        'style="border:0;max-width:42rem"></iframe>'
    )
    return {"url": url, "snippet": snippet}


def _saved_preview(page: LandingPage | None) -> tuple[LandingPage, list[FormField]]:
    if page is None:
        return LandingPage(title="Untitled page"), []
    return page, list(page.fields.all())


def _preview_context(page: LandingPage, page_fields: list[FormField]) -> dict:
    form = LandingForm(page=page, page_fields=page_fields, auto_id="preview-%s")
    content = mark_safe(content_sanitize(page.content))  # noqa: S308 (sanitised by nh3)
    return {"preview": {"page": page, "form": form, "content": content}}


@login_required
@require_POST
@permission_required("landing.view_landingpage", raise_exception=True)
def landing_page_preview(request):
    """The live preview of the editor's unsaved form, drawn by the public page's own template; its
    form is shown only (inert, no action): nothing is saved and nothing can be sent from it."""
    context = _preview_context(*preview_page(request.POST))
    return render(request, "landing/_preview.html", context)


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
