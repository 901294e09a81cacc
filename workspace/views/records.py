"""Create and edit contacts, accounts, leads and opportunities in the workspace.

A form validates the post (`workspace/record_forms.py`), `crm_core/access.py` says who may, and
the owning service (`crm_core/services/records.py`) writes, in one transaction: what the API and
the admin do. Bad input re-renders the form with each error at its field (400) and nothing saved;
a refusal renders the reason (403); a save redirects to the record's page with a message.
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse

from crm_core import access, services
from crm_core.models import Account, Contact, Lead, Opportunity
from crm_core.roles import SALES, user_roles
from workspace import record_forms

EMAIL_TAKEN = "A contact with this email already exists."


@dataclass(frozen=True)
class RecordKind:
    model: type
    noun: str
    form: type
    create_form: type
    create: Callable
    update: Callable
    page: str  # the URL name of the record's page

    @property
    def name(self) -> str:
        return self.model._meta.model_name


KINDS = {
    kind.name: kind
    for kind in (
        RecordKind(
            Contact,
            "contact",
            record_forms.ContactForm,
            record_forms.ContactForm,
            services.contact_create,
            services.contact_update,
            "workspace:contact-detail",
        ),
        RecordKind(
            Account,
            "account",
            record_forms.AccountForm,
            record_forms.AccountForm,
            services.account_create,
            services.account_update,
            "workspace:account-detail",
        ),
        RecordKind(
            Lead,
            "lead",
            record_forms.LeadForm,
            record_forms.LeadCreateForm,
            services.lead_create,
            services.lead_update,
            "workspace:lead-detail",
        ),
        RecordKind(
            Opportunity,
            "opportunity",
            record_forms.OpportunityForm,
            record_forms.OpportunityForm,
            services.opportunity_create,
            services.opportunity_update,
            "workspace:opportunity-detail",
        ),
    )
}


def _get(kind: RecordKind, pk):
    try:
        return kind.model.objects.get(pk=pk)
    except kind.model.DoesNotExist as exc:
        raise Http404(f"No such {kind.noun}.") from exc


def _render(request, kind: RecordKind, form, *, record=None, refusal: str = "", status: int = 200):
    return render(
        request,
        "workspace/record_form.html",
        {"kind": kind, "form": form, "record": record, "refusal": refusal},
        status=status,
    )


def _save(request, kind: RecordKind, form, record) -> object | None:
    """Write through the service; None (with the errors on the form) when it refuses."""
    try:
        with transaction.atomic():
            if record is None:
                return kind.create(actor=request.user, **form.values(changed_only=False))
            fresh = kind.model.objects.get(pk=record.pk)  # the form's instance holds the new values
            return kind.update(**{kind.name: fresh}, actor=request.user, **form.values(changed_only=True))
    except ValidationError as error:
        form.add_error(None, error)  # a dict of field errors lands at the fields
    except IntegrityError:  # a unique value taken between the form's check and the write
        form.add_error("email" if "email" in form.fields else None, EMAIL_TAKEN)
    return None


def _check(request, kind: RecordKind, record, form) -> None:
    if record is None:
        if kind.name == "lead":
            owner = form.cleaned_data.get("owner") if form.is_bound and form.is_valid() else None
            access.check_lead_create(request.user, owner)
        else:
            access.check_record_write(request.user, kind.name, creating=True)
    elif kind.name == "lead":
        access.check_lead_edit(request.user, record)
    else:
        access.check_record_write(request.user, kind.name)


def _initial(request, kind: RecordKind) -> dict:
    """A new lead starts as the rep's own; links from a record page preset its parent."""
    initial = {}
    if kind.name == "lead" and SALES in user_roles(request.user):
        initial["owner"] = request.user.pk
    for name in ("parent_account", "account", "parent_contact", "contact"):
        value = request.GET.get(name, "")
        if value.isdigit():
            initial[name] = int(value)
    return initial


def _record_form(request, kind: RecordKind, record):
    form_class = kind.create_form if record is None else kind.form
    instance = None if record is None else kind.model.objects.get(pk=record.pk)
    if request.method == "POST":
        return form_class(request.POST, instance=instance)
    return form_class(instance=instance, initial=_initial(request, kind) if record is None else None)


@login_required
def record_edit(request, entity: str, pk: int | None = None):
    """GET: the form; POST: validate, check access, save through the service, redirect."""
    kind = KINDS.get(entity)
    if kind is None:
        raise Http404("No such kind of record.")
    if not request.user.has_perm(f"crm_core.view_{kind.name}"):
        raise access.AccessDenied(f"Your role may not see {access.RECORD_NOUNS[kind.name]}.")
    record = None if pk is None else _get(kind, pk)
    form = _record_form(request, kind, record)
    try:
        _check(request, kind, record, form)
    except access.AccessDenied as denied:
        return _render(request, kind, form, record=record, refusal=str(denied), status=403)
    if request.method != "POST":
        return _render(request, kind, form, record=record)
    if not form.is_valid() or (saved := _save(request, kind, form, record)) is None:
        return _render(request, kind, form, record=record, status=400)
    verb = "created" if record is None else "saved"
    messages.success(request, f"{kind.noun.capitalize()} “{saved}” {verb}.")
    return redirect(reverse(kind.page, args=[saved.pk]))
