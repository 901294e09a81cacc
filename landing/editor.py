"""Marketers' pages to list, create and edit landing pages and their form fields."""

from django import forms
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied
from django.forms import inlineformset_factory
from django.shortcuts import get_object_or_404, redirect, render

from .models import FormField, LandingPage
from .services import landing_page_create, landing_page_update

PAGE_FIELDS = [
    "title", "slug", "status", "lead_topic", "content", "contact_matching", "lead_matching", "submit_label",
    "consent_text", "consent_required", "consent_level", "thank_you_message", "redirect_url",
]  # fmt: skip
FIELD_FIELDS = ("name", "label", "field_type", "required", "max_length", "contact_field", "lead_field")


class LandingPageForm(forms.ModelForm):
    class Meta:
        model = LandingPage
        fields = PAGE_FIELDS
        widgets = {"content": forms.Textarea(attrs={"rows": 8})}


FormFieldFormSet = inlineformset_factory(
    LandingPage, FormField, fields=list(FIELD_FIELDS), extra=3, can_delete=True, max_num=50, validate_max=True
)


@login_required
@permission_required("landing.view_landingpage", raise_exception=True)
def landing_page_list(request):
    pages = LandingPage.objects.order_by("title", "id")[:500]
    return render(
        request,
        "landing/editor_list.html",
        {"pages": pages, "can_edit": request.user.has_perm("landing.add_landingpage")},
    )


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
    fields = FormFieldFormSet(request.POST or None, instance=page or LandingPage(), prefix="fields")
    status = 200
    if request.method == "POST":
        if form.is_valid() and fields.is_valid():
            data = {name: form.cleaned_data[name] for name in PAGE_FIELDS}
            rows = [
                {name: row[name] for name in FIELD_FIELDS}
                for row in fields.cleaned_data
                if row and not row.get("DELETE")
            ]
            if page is None:
                page = landing_page_create(data=data, fields=rows, created_by=request.user)
            else:
                page = landing_page_update(page=page, data=data, fields=rows)
            return redirect("landing:editor-edit", pk=page.pk)
        status = 400
    if not can_edit:
        for f in list(form.fields.values()) + [f for sub in fields.forms for f in sub.fields.values()]:
            f.disabled = True
    return render(
        request,
        "landing/editor_form.html",
        {"page": page, "form": form, "fields": fields, "can_edit": can_edit},
        status=status,
    )
