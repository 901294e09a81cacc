"""Saved views of the contact and lead lists: a user names the list's current filters, applies a
saved view (a link with its query string), shares it read-only with everyone, or deletes their own."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, QueryDict
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_POST

from crm_core import access
from workspace import services
from workspace.filters import LeadListFilter
from workspace.forms import ContactFilterForm
from workspace.models import SavedView, SavedViewEntity
from workspace.selectors import owner_choices, saved_views_visible

LIST_PAGES = {SavedViewEntity.CONTACT: "workspace:contact-list", SavedViewEntity.LEAD: "workspace:lead-list"}
PERMISSIONS = {SavedViewEntity.CONTACT: "crm_core.view_contact", SavedViewEntity.LEAD: "crm_core.view_lead"}
NOT_SAVED = ("cursor", "csrfmiddlewaretoken")


class SavedViewForm(forms.Form):
    name = forms.CharField(max_length=100, strip=True)
    query = forms.CharField(max_length=2000, required=False)
    shared = forms.BooleanField(required=False)


def _query_kept(query: str) -> QueryDict:
    """The list's filters as a view keeps them: no page cursor, no empty values."""
    given = QueryDict(query)
    kept = QueryDict(mutable=True)
    for name, values in given.lists():
        values = [v for v in values if v != ""]
        if name not in NOT_SAVED and values:
            kept.setlist(name, values)
    return kept


def _filter_problems(request, entity: str, query: QueryDict) -> list[str]:
    """What the list's own filter form says is wrong with `query`."""
    owners = owner_choices()
    if entity == SavedViewEntity.CONTACT:
        form = ContactFilterForm(query, owners=owners)
        valid = form.is_valid()
    else:
        filterset = LeadListFilter(query, viewer=request.user, owners=owners)
        valid, form = filterset.is_valid(), filterset.form
    if valid:
        return []
    return [
        " ".join(errors) if name == "__all__" else f"{name}: {' '.join(errors)}"
        for name, errors in form.errors.items()
    ]


def saved_views_context(request, entity: str) -> dict:
    """What the list page's saved views panel shows: the views, and the query a save would keep."""
    return {
        "saved_views": saved_views_visible(viewer=request.user, entity=entity),
        "saved_view_entity": entity,
        "current_query": _query_kept(request.GET.urlencode()).urlencode(),
    }


def _entity(entity: str) -> str:
    if entity not in LIST_PAGES:
        raise Http404("No such list.")
    return entity


@login_required
@require_POST
def saved_view_save(request, entity):
    entity = _entity(entity)
    if not request.user.has_perm(PERMISSIONS[entity]):
        raise access.AccessDenied("Your role may not see this list.")
    list_url = reverse(LIST_PAGES[entity])
    form = SavedViewForm(request.POST)
    if not form.is_valid():
        for name, errors in form.errors.items():
            messages.error(request, f"View not saved: {name}: {' '.join(errors)}")
        return redirect(f"{list_url}?{_query_kept(request.POST.get('query', '')).urlencode()}")
    query = _query_kept(form.cleaned_data["query"])
    problems = _filter_problems(request, entity, query)
    if problems:
        messages.error(request, "View not saved: " + "; ".join(problems))
        return redirect(list_url)
    view, created = services.saved_view_save(
        owner=request.user,
        entity=entity,
        name=form.cleaned_data["name"],
        query=query.urlencode(),
        shared=form.cleaned_data["shared"],
    )
    shared = " and shared with everyone" if view.shared else ""
    messages.success(request, f"View “{view.name}” {'saved' if created else 'replaced'}{shared}.")
    return redirect(f"{list_url}?{view.query}")


@login_required
@require_POST
def saved_view_delete(request, pk):
    try:
        view = SavedView.objects.get(pk=pk)
    except SavedView.DoesNotExist as exc:
        raise Http404("No such view.") from exc
    services.saved_view_delete(saved_view=view, actor=request.user)
    messages.success(request, f"View “{view.name}” deleted.")
    return redirect(reverse(LIST_PAGES[view.entity]))
