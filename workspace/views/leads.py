"""The sales rep's lead queue, the lead page, the lifecycle actions (POST forms) and the score fragment.

Who may move a lead is decided by `crm_core.access` (shared with the API): sales and admin users
holding `crm_core.change_lead`. A rep may act on leads
they own and on unowned leads (accepting one makes it theirs, as `services.lead_accept` does); a lead
owned by another rep is refused (403). Admins may act on any lead. Everyone who may view leads may
open the lead page and its score explanation.
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.db import DatabaseError, transaction
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.dateparse import parse_datetime
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from crm_core import access, selectors, services
from crm_core.models import Lead, LeadStatus
from crm_core.services import lifecycle
from leadscoring import services as scoring
from leadscoring.selectors import scoring_model_primary
from sales.selectors import end_of_today, queue_enrich, user_open_tasks
from sales.services import queue_visit_record
from workspace.forms import LeadQualifyForm, LeadReasonForm

from .paging import OUTDATED_CURSOR, InvalidCursor, keyset_section

PAGE_SIZE = 25
QUEUE_STATUSES = (LeadStatus.NEW, LeadStatus.MARKETING_QUALIFIED)  # sales-ready, waiting for a rep
QUEUE_ORDERING = ("-created_at", "-id")


@dataclass(frozen=True)
class LeadAction:
    key: str
    label: str
    transition: lifecycle.Transition
    service: Callable
    form: type
    done: str  # the message after it; qualify names the opportunity instead


ACTIONS = {
    a.key: a
    for a in (
        LeadAction(
            "accept", "Accept", lifecycle.ACCEPT, services.lead_accept, LeadReasonForm, "Lead accepted."
        ),
        LeadAction("qualify", "Qualify", lifecycle.QUALIFY, services.lead_qualify, LeadQualifyForm, ""),
        LeadAction(
            "disqualify",
            "Disqualify",
            lifecycle.DISQUALIFY,
            services.lead_disqualify,
            LeadReasonForm,
            "Lead disqualified.",
        ),
        LeadAction(
            "return-to-marketing",
            "Return to marketing",
            lifecycle.RETURN_TO_MARKETING,
            services.lead_return_to_marketing,
            LeadReasonForm,
            "Lead returned to marketing for more nurture.",
        ),
    )
}


def actions_for(lead: Lead) -> list[LeadAction]:
    """The actions the lead's status allows (the service checks again under a row lock)."""
    return [a for a in ACTIONS.values() if lead.status in a.transition.allowed_from]


def _lead_rows(queryset):
    return queryset.select_related("parent_contact", "parent_account", "parent_contact__parent_account")


QUEUE_SINCE_KEY = "lead_queue_since"


def _queue_since(request):
    """The rep's previous visit to the queue: recorded when the first page opens (sales.UserSettings),
    kept in the session so the later pages of the same visit mark the same leads new."""
    first_page = not (request.GET.get("cursor") or request.GET.get("acursor"))
    if first_page:
        previous = queue_visit_record(actor=request.user)
        request.session[QUEUE_SINCE_KEY] = previous.isoformat() if previous else ""
        return previous
    stored = request.session.get(QUEUE_SINCE_KEY) or ""
    return parse_datetime(stored) if stored else None


@login_required
@permission_required("crm_core.view_lead", raise_exception=True)
def lead_queue_page(request):
    """The rep's sales-ready leads (with the top reasons in words, new since the last visit, their open
    tasks), the accepted ones, and the rep's open tasks by due date (overdue and due today marked)."""
    user = request.user
    queue = Lead.objects.filter(owner=user, sales_ready=True, status__in=QUEUE_STATUSES)
    accepted = Lead.objects.filter(owner=user, status=LeadStatus.SALES_ACCEPTED)
    try:
        queue_page = keyset_section(
            request, _lead_rows(queue), ordering=QUEUE_ORDERING, size=PAGE_SIZE, param="cursor"
        )
        accepted_page = keyset_section(
            request, _lead_rows(accepted), ordering=QUEUE_ORDERING, size=PAGE_SIZE, param="acursor"
        )
    except InvalidCursor:
        messages.error(request, OUTDATED_CURSOR)
        return render(request, "workspace/lead_queue.html", {"invalid": True}, status=400)
    since = _queue_since(request)
    may_move = access.may_move_leads_through_sales(user)
    rows = [*queue_page.rows, *accepted_page.rows]
    for lead in rows:
        lead.ui_actions = actions_for(lead) if may_move else []
    queue_enrich(rows, since=since)
    return render(
        request,
        "workspace/lead_queue.html",
        {
            "queue": queue_page,
            "accepted": accepted_page,
            "here": request.get_full_path(),
            "in_row": True,
            "since": since,
            "new_count": sum(1 for lead in queue_page.rows if lead.is_new),
            "open_tasks": list(user_open_tasks(user)),
            "end_of_today": end_of_today(),
        },
    )


def _render_row(request, lead: Lead, *, message: str, error: bool = False, status: int = 200):
    """The lead's queue row after an htmx action: its new status, actions and message."""
    lead = _get_lead(lead.pk)
    lead.ui_actions = actions_for(lead) if access.lead_action_refusal(request.user, lead) is None else []
    queue_enrich([lead], since=None)
    return render(
        request,
        "workspace/_lead_row.html",
        {
            "lead": lead,
            "in_row": True,
            "here": _safe_next(request, request.POST.get("next", "")) or reverse("workspace:lead-queue"),
            "row_message": message,
            "row_error": error,
        },
        status=status,
    )


def _get_lead(pk) -> Lead:
    try:
        return Lead.objects.select_related(
            "parent_contact", "parent_contact__parent_account", "parent_account", "owner"
        ).get(pk=pk)
    except Lead.DoesNotExist as exc:
        raise Http404("No such lead.") from exc


def score_explanation(lead: Lead) -> dict:
    """The primary model's explanation of the lead's score, or a note saying why there is none."""
    model = scoring_model_primary()
    if model is None:
        return {"model": None, "rows": [], "total": 0, "note": "No primary scoring model is set up."}
    try:
        with transaction.atomic():  # a failure must not poison the request's transaction
            rows = scoring.lead_score_explain(lead=lead, model=model)
    except DatabaseError:
        return {
            "model": model,
            "rows": [],
            "total": 0,
            "note": "The score explanation is not available on this database.",
        }
    return {"model": model, "rows": rows, "total": sum(row["points"] for row in rows), "note": ""}


OWNED_BY_ANOTHER = "This lead belongs to another rep; only its owner or an admin can act on it or change it."


def _refusals(user, lead: Lead) -> tuple[str | None, str | None]:
    """Why the page shows no lifecycle actions, and why no edit link (one sentence when both are the
    owner rule)."""
    refusal = access.lead_action_refusal(user, lead)
    edit_refusal = access.record_write_refusal(user, "lead", lead)
    if refusal and edit_refusal and access.lead_owned_by_another(user, lead):
        return OWNED_BY_ANOTHER, None
    return refusal, edit_refusal


def _render_detail(request, lead: Lead, *, status: int = 200):
    refusal, edit_refusal = _refusals(request.user, lead)
    may_act = access.lead_action_refusal(request.user, lead) is None
    lead.ui_actions = actions_for(lead) if may_act else []
    return render(
        request,
        "workspace/lead_detail.html",
        {
            "lead": lead,
            "contact": lead.parent_contact,
            "history": list(selectors.lead_status_history(lead=lead)),
            "score": score_explanation(lead),
            "may_act": may_act,
            "edit_refusal": edit_refusal,
            "may_edit": access.record_write_refusal(request.user, "lead", lead) is None,
            # A rep looking at another rep's lead is told why there are no actions.
            "refusal": refusal if access.may_move_leads_through_sales(request.user) else None,
            "opportunities": list(lead.opportunities.order_by("-created_at", "-id")[:20]),
            "here": request.get_full_path(),
        },
        status=status,
    )


@login_required
@permission_required("crm_core.view_lead", raise_exception=True)
def lead_detail_page(request, pk):
    return _render_detail(request, _get_lead(pk))


@login_required
@permission_required("crm_core.view_lead", raise_exception=True)
def lead_score_partial(request, pk):
    lead = _get_lead(pk)
    return render(request, "workspace/_lead_score.html", {"lead": lead, "score": score_explanation(lead)})


def _safe_next(request, value: str) -> str | None:
    if value and url_has_allowed_host_and_scheme(
        value, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return value
    return None


@login_required
@require_POST
def lead_action(request, pk, action):
    spec = ACTIONS.get(action)
    if spec is None:
        raise Http404("No such action.")
    lead = access.check_lead_action(request.user, _get_lead(pk))
    form = spec.form(request.POST)
    htmx = request.headers.get("HX-Request") == "true"  # from a queue row: answer with the row
    if not form.is_valid():
        problems = [f"{name}: {' '.join(errors)}" for name, errors in form.errors.items()]
        if htmx:
            return _render_row(request, lead, message=" ".join(problems), error=True, status=400)
        for problem in problems:
            messages.error(request, problem)
        return _render_detail(request, lead, status=400)
    data = form.cleaned_data
    arguments = {name: value for name, value in data.items() if name != "next"}
    try:
        result = spec.service(lead=lead, actor=request.user, **arguments)
    except services.LeadTransitionError as error:
        if htmx:
            return _render_row(request, lead, message=str(error), error=True, status=400)
        messages.error(request, str(error))
        return _render_detail(request, _get_lead(pk), status=400)
    if spec.key == "qualify":
        _, opportunity = result
        done = f"Lead qualified: opportunity “{opportunity.name}” created."
    else:
        done = spec.done
    if htmx:
        return _render_row(request, lead, message=done)
    messages.success(request, done)
    return redirect(_safe_next(request, data.get("next", "")) or reverse("workspace:lead-detail", args=[pk]))
