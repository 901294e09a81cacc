"""The account list (search, filters, keyset pages) and the account page (its contacts, leads and
opportunities, each a keyset-paged list of its own: a fixed number of queries whatever the account holds).
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.http import Http404
from django.shortcuts import render

from crm_core import selectors
from crm_core.models import Account, Contact, Lead, Opportunity
from crm_core.selectors import VIEWS
from workspace.forms import AccountFilterForm

from .paging import OUTDATED_CURSOR, InvalidCursor, form_keyset_section, keyset_section

PAGE_SIZE = 50
SECTION_SIZE = 20
NEWEST = ("-created_at", "-id")


@login_required
@permission_required("crm_core.view_account", raise_exception=True)
def account_list_page(request):
    form = AccountFilterForm(request.GET)
    if not form.is_valid():
        return render(request, "workspace/account_list.html", {"form": form, "page": None}, status=400)
    data = form.cleaned_data
    accounts = Account.objects.select_related("owner")
    if data["q"]:
        accounts = accounts.filter(name__icontains=data["q"])
    if data["industry"]:
        accounts = accounts.filter(industry=data["industry"])
    if data["country"]:
        accounts = accounts.filter(country__iexact=data["country"])
    page = form_keyset_section(request, form, accounts, ordering=("name", "id"), size=PAGE_SIZE)
    if page is None:
        return render(request, "workspace/account_list.html", {"form": form, "page": None}, status=400)
    return render(request, "workspace/account_list.html", {"form": form, "page": page})


@login_required
@permission_required("crm_core.view_account", raise_exception=True)
def account_detail_page(request, pk):
    try:
        account = Account.objects.select_related("owner", "parent_account").get(pk=pk)
    except Account.DoesNotExist as exc:
        raise Http404("No such account.") from exc
    view = request.GET.get("view") or selectors.contact_default_view(viewer=request.user)
    if view not in VIEWS:
        messages.error(request, f"Unknown view {view!r}.")
        view = selectors.contact_default_view(viewer=request.user)
        status = 400
    else:
        status = 200
    user = request.user
    contacts = selectors.contacts_in_view(
        contacts=Contact.objects.filter(parent_account=account).select_related("owner"), view=view
    )
    leads = Lead.objects.filter(parent_account=account).select_related("parent_contact", "owner")
    opportunities = Opportunity.objects.filter(account=account).select_related("contact", "owner")
    sections = {}
    try:
        sections["contacts"] = keyset_section(
            request, contacts, ordering=("last_name", "id"), size=SECTION_SIZE, param="ccursor"
        )
        if user.has_perm("crm_core.view_lead"):
            sections["leads"] = keyset_section(
                request, leads, ordering=NEWEST, size=SECTION_SIZE, param="lcursor"
            )
        if user.has_perm("crm_core.view_opportunity"):
            sections["opportunities"] = keyset_section(
                request, opportunities, ordering=NEWEST, size=SECTION_SIZE, param="ocursor"
            )
    except InvalidCursor:
        messages.error(request, OUTDATED_CURSOR)
        return render(
            request, "workspace/account_detail.html", {"account": account, "invalid": True}, status=400
        )
    return render(
        request,
        "workspace/account_detail.html",
        {"account": account, "view": view, "sections": sections, "other_view": _other(view)},
        status=status,
    )


def _other(view: str) -> str:
    return selectors.VIEW_MARKETING if view == selectors.VIEW_SALES else selectors.VIEW_SALES
