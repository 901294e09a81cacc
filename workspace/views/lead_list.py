"""The lead list: every lead the filters (workspace/filters.py) keep, in keyset pages (no COUNT, no
OFFSET: the same cost on page 1 and page 1,000 at a million leads), with the saved views."""

from django.contrib.auth.decorators import login_required, permission_required
from django.shortcuts import render

from crm_core import selectors
from crm_core.estimates import queryset_estimated_count
from crm_core.models import Lead
from workspace.filters import LeadListFilter
from workspace.models import SavedViewEntity
from workspace.selectors import owner_choices

from .paging import form_keyset_section
from .saved_views import saved_views_context

PAGE_SIZE = 50


@login_required
@permission_required("crm_core.view_lead", raise_exception=True)
def lead_list_page(request):
    viewer = request.user
    query = request.GET.copy()
    if not query.get("view"):
        query["view"] = selectors.contact_default_view(viewer=viewer)
    leads = Lead.objects.select_related(
        "parent_contact", "parent_contact__parent_account", "parent_account", "owner"
    )
    filterset = LeadListFilter(query, queryset=leads, viewer=viewer, owners=owner_choices())
    context = {
        "form": filterset.form,
        "rows": [],
        "may_create": viewer.has_perm("crm_core.add_lead"),
        **saved_views_context(request, SavedViewEntity.LEAD),
    }
    if not filterset.is_valid():
        return render(request, "workspace/lead_list.html", context, status=400)
    page = form_keyset_section(
        request, filterset.form, filterset.qs, ordering=filterset.ordering_key(), size=PAGE_SIZE
    )
    if page is None:
        return render(request, "workspace/lead_list.html", context, status=400)
    context.update(
        view=filterset.form.cleaned_data["view"],
        rows=page.rows,
        page=page,
        estimate=queryset_estimated_count(filterset.qs.order_by()),  # the planner's, never a COUNT(*)
    )
    return render(request, "workspace/lead_list.html", context)
