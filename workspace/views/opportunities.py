"""The opportunity list (filters: stage, status, mine, account; keyset pages, newest first) and the
opportunity page."""

from django.contrib.auth.decorators import login_required, permission_required
from django.http import Http404
from django.shortcuts import render

from crm_core import access
from crm_core.models import Opportunity
from workspace.forms import OpportunityFilterForm

from .paging import form_keyset_section

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
    page = form_keyset_section(request, form, opportunities, ordering=("-created_at", "-id"), size=PAGE_SIZE)
    if page is None:
        return render(request, "workspace/opportunity_list.html", {"form": form, "page": None}, status=400)
    return render(request, "workspace/opportunity_list.html", {"form": form, "page": page})


@login_required
@permission_required("crm_core.view_opportunity", raise_exception=True)
def opportunity_detail_page(request, pk):
    """One opportunity's fields, its lead, and the edit link for those who may change it."""
    try:
        opportunity = Opportunity.objects.select_related(
            "account", "contact", "originating_lead", "owner"
        ).get(pk=pk)
    except Opportunity.DoesNotExist as exc:
        raise Http404("No such opportunity.") from exc
    return render(
        request,
        "workspace/opportunity_detail.html",
        {"opp": opportunity, "refusal": access.record_write_refusal(request.user, "opportunity")},
    )
