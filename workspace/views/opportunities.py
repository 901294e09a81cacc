"""The opportunity list: filters (stage, status, mine, account) and keyset pages, newest first."""

from django.contrib.auth.decorators import login_required, permission_required
from django.shortcuts import render

from crm_core.models import Opportunity
from workspace.forms import OpportunityFilterForm

from .paging import OUTDATED_CURSOR, InvalidCursor, keyset_section

PAGE_SIZE = 50


@login_required
@permission_required("crm_core.view_opportunity", raise_exception=True)
def opportunity_list_page(request):
    form = OpportunityFilterForm(request.GET)
    if not form.is_valid():
        return render(request, "workspace/opportunity_list.html", {"form": form, "page": None}, status=400)
    data = form.cleaned_data
    opportunities = Opportunity.objects.select_related("account", "contact", "owner")
    if data["stage"]:
        opportunities = opportunities.filter(stage=data["stage"])
    if data["status"]:
        opportunities = opportunities.filter(status=data["status"])
    if data["mine"]:
        opportunities = opportunities.filter(owner=request.user)
    if data["account"]:
        opportunities = opportunities.filter(account_id=data["account"])
    try:
        page = keyset_section(request, opportunities, ordering=("-created_at", "-id"), size=PAGE_SIZE)
    except InvalidCursor:
        form.add_error("cursor", OUTDATED_CURSOR)
        return render(request, "workspace/opportunity_list.html", {"form": form, "page": None}, status=400)
    return render(request, "workspace/opportunity_list.html", {"form": form, "page": page})
