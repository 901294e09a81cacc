from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect

from crm_core.roles import ADMIN, MARKETING, SALES, user_roles


@login_required
def home(request):
    """Each role lands on its own start page: marketers on the dashboard, reps on their lead queue."""
    roles = user_roles(request.user)
    if roles & {MARKETING, ADMIN}:
        return redirect("workspace:dashboard")
    if SALES in roles:
        return redirect("workspace:lead-queue")
    return redirect("workspace:contact-list")
