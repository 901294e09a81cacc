"""The contact list (sales and marketing views) and the 360-degree contact page."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.http import Http404
from django.shortcuts import redirect, render

from crm_core import access, custom_fields, selectors
from crm_core.estimates import queryset_estimated_count
from crm_core.models import Contact
from crm_core.services import merge_survivor
from workspace.forms import ContactFilterForm
from workspace.models import SavedViewEntity
from workspace.selectors import contact_overview, owner_choices

from .paging import form_keyset_section
from .saved_views import saved_views_context

PAGE_SIZE = 50


@login_required
@permission_required("crm_core.view_contact", raise_exception=True)
def contact_list_page(request):
    viewer = request.user
    query = request.GET.copy()
    if not query.get("view"):  # show the view the list is in, the role's default when none is asked
        query["view"] = selectors.contact_default_view(viewer=viewer)
    form = ContactFilterForm(query, owners=owner_choices())
    saved = {
        **saved_views_context(request, SavedViewEntity.CONTACT),
        "can_merge": access.may_merge_contacts(viewer),
    }
    if not form.is_valid():
        return render(request, "workspace/contact_list.html", {"form": form, "rows": [], **saved}, status=400)
    data = form.cleaned_data
    view = data["view"]
    has_leads = {"yes": True, "no": False}.get(data.get("has_leads") or "")
    contacts = selectors.contact_list_filtered(
        viewer=viewer,
        view=view,
        search=data.get("q", ""),
        job_role=data.get("job_role", ""),
        country=data.get("country", ""),
        account=data.get("account", ""),
        has_leads=has_leads,
        sales_ready=data.get("sales_ready", False),
        **form.owner_filter(viewer),
    )
    rows = selectors.contact_list_rows(contacts)
    page = form_keyset_section(request, form, rows, ordering=form.ordering_key(), size=PAGE_SIZE)
    if page is None:
        return render(request, "workspace/contact_list.html", {"form": form, "rows": [], **saved}, status=400)
    return render(
        request,
        "workspace/contact_list.html",
        {
            "form": form,
            "view": view,
            "rows": page.rows,
            "estimate": queryset_estimated_count(contacts),  # the planner's, never a COUNT(*)
            "next_link": page.next_link,
            "previous_link": page.previous_link,
            **saved,
        },
    )


@login_required
@permission_required("crm_core.view_contact", raise_exception=True)
def contact_detail_page(request, pk):
    try:
        overview = contact_overview(contact_id=pk)
    except Contact.DoesNotExist as exc:
        survivor = merge_survivor(pk)
        if survivor is None:
            raise Http404("No such contact.") from exc
        messages.info(request, f"Contact {pk} was merged into this contact; this is its record now.")
        return redirect("workspace:contact-detail", pk=survivor)
    return render(
        request,
        "workspace/contact_detail.html",
        {
            "o": overview,
            "contact": overview.contact,
            "custom_values": custom_fields.displayed("contact", overview.contact.custom),
            "can_view_leads": request.user.has_perm("crm_core.view_lead"),
            "can_merge": access.may_merge_contacts(request.user),
        },
    )
