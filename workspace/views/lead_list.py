"""The lead list: every lead the filters (workspace/filters.py) keep, in keyset pages (no COUNT, no
OFFSET: the same cost on page 1 and page 1,000 at a million leads), with the saved views; and the
same leads as a CSV download."""

import csv

from django.contrib.auth.decorators import login_required, permission_required
from django.http import HttpResponseBadRequest, StreamingHttpResponse
from django.shortcuts import render

from crm_core import custom_fields, selectors
from crm_core.estimates import queryset_estimated_count
from crm_core.models import Lead
from workspace.filters import LeadListFilter
from workspace.models import SavedViewEntity
from workspace.selectors import owner_choices

from .paging import form_keyset_section
from .saved_views import saved_views_context

PAGE_SIZE = 50
EXPORT_COLUMNS = (
    "id", "topic", "status", "source", "email", "first_name", "last_name", "company_name", "job_title",
    "parent_contact_id", "parent_account_id", "owner__username", "score", "grade", "sales_ready",
    "estimated_value", "created_at",
)  # fmt: skip
EXPORT_HEADER = tuple("owner" if name == "owner__username" else name for name in EXPORT_COLUMNS)


def _filterset(request, leads) -> LeadListFilter:
    """The list's filters over `leads`, from the query string (the viewer's default view if none)."""
    query = request.GET.copy()
    if not query.get("view"):
        query["view"] = selectors.contact_default_view(viewer=request.user)
    return LeadListFilter(query, queryset=leads, viewer=request.user, owners=owner_choices())


@login_required
@permission_required("crm_core.view_lead", raise_exception=True)
def lead_list_page(request):
    viewer = request.user
    leads = Lead.objects.select_related(
        "parent_contact", "parent_contact__parent_account", "parent_account", "owner"
    )
    filterset = _filterset(request, leads)
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


class _Echo:
    def write(self, value):
        return value


@login_required
@permission_required("crm_core.view_lead", raise_exception=True)
def lead_list_export(request):
    """The leads the list shows for the same query string (filters and view), as CSV in id order,
    streamed: the built-in columns, then a `custom.<key>` column per custom field of leads (as an
    import reads it back). Bad filters: 400 naming them."""
    filterset = _filterset(request, Lead.objects.all())
    if not filterset.is_valid():
        problems = "; ".join(f"{name}: {' '.join(errors)}" for name, errors in filterset.form.errors.items())
        return HttpResponseBadRequest(f"Bad filters: {problems}", content_type="text/plain")
    custom = custom_fields.definitions("lead")
    rows = filterset.qs.order_by("id").values_list(*EXPORT_COLUMNS, "custom").iterator(chunk_size=5000)
    writer = csv.writer(_Echo())

    def stream():
        yield writer.writerow([*EXPORT_HEADER, *(field.name for field in custom)])
        for *row, values in rows:
            values = values or {}
            yield writer.writerow([*row, *(custom_fields.as_text(f, values.get(f.key)) for f in custom)])

    response = StreamingHttpResponse(stream(), content_type="text/csv")
    response["Content-Disposition"] = 'attachment; filename="leads.csv"'
    return response
