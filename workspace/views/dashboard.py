"""The marketing dashboard (marketers and admins): the funnel, the orphan-lead workflow, segment
sizes and the score distribution for a period. Numbers come from workspace.dashboard."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import render

from crm_core.roles import ADMIN, MARKETING, user_roles
from workspace.dashboard import Period, dashboard_numbers
from workspace.forms import DashboardPeriodForm


@login_required
def dashboard(request):
    if not user_roles(request.user) & {MARKETING, ADMIN}:
        raise PermissionDenied("The dashboard is for marketing.")
    form = DashboardPeriodForm(request.GET)
    if not form.is_valid():
        for errors in form.errors.values():
            messages.error(request, " ".join(errors))
        return render(request, "workspace/dashboard.html", {"form": form}, status=400)
    period = Period(date_from=form.cleaned_data["date_from"], date_to=form.cleaned_data["date_to"])
    return render(
        request, "workspace/dashboard.html", {"form": form, "period": period, **dashboard_numbers(period)}
    )
