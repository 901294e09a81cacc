"""The identity review: leads a landing page held back because the known contact with their email
did not match the submitted details. Marketers and admins link each one to its contact or dismiss
it (POST, then back to the list); who may is `crm_core.access.check_identity_review`, shared with
the API's /identity-link/ and /identity-dismiss/ actions."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from crm_core import access, services
from crm_core.models import Contact, IdentityStatus, Lead

from .paging import OUTDATED_CURSOR, InvalidCursor, keyset_section

PAGE_SIZE = 25
ORDERING = ("-created_at", "-id")


class IdentityLinkForm(forms.Form):
    contact = forms.ModelChoiceField(
        queryset=Contact.objects.all(),
        required=False,
        widget=forms.NumberInput,
        error_messages={"invalid_choice": "No contact has that id."},
    )


class IdentityDismissForm(forms.Form):
    reason = forms.CharField(required=False, max_length=2000)


@login_required
def identity_review_page(request):
    access.check_identity_review(request.user)
    conflicts = Lead.objects.filter(identity_status=IdentityStatus.CONFLICT).select_related(
        "identity_conflict_contact"
    )
    try:
        section = keyset_section(request, conflicts, ordering=ORDERING, size=PAGE_SIZE)
    except InvalidCursor:
        messages.error(request, OUTDATED_CURSOR)
        return render(request, "workspace/identity_review.html", {"invalid": True}, status=400)
    return render(request, "workspace/identity_review.html", {"section": section})


def _conflict_lead(pk) -> Lead:
    try:
        return Lead.objects.get(pk=pk)
    except Lead.DoesNotExist as exc:
        raise Http404("No such lead.") from exc


def _review(request, pk, *, form_class, service, done: str):
    access.check_identity_review(request.user)
    lead = _conflict_lead(pk)
    form = form_class(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            messages.error(request, " ".join(errors))
        return redirect("workspace:identity-review")
    try:
        service(lead=lead, actor=request.user, **form.cleaned_data)
    except services.IdentityReviewError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, done.format(lead=lead))
    return redirect("workspace:identity-review")


@login_required
@require_POST
def identity_link(request, pk):
    return _review(
        request,
        pk,
        form_class=IdentityLinkForm,
        service=services.lead_identity_link,
        done="Lead “{lead.topic}” linked to its contact.",
    )


@login_required
@require_POST
def identity_dismiss(request, pk):
    return _review(
        request,
        pk,
        form_class=IdentityDismissForm,
        service=services.lead_identity_dismiss,
        done="Lead “{lead.topic}” dismissed: it keeps no contact and was disqualified.",
    )
