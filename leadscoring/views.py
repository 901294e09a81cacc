"""The scoring page: every scoring model with its status, threshold, decay, rules and grade bands.

Read-only; users who may change scoring models (and use Django admin) get an "Edit in admin" link.
Three queries whatever the number of models and rules (the models, then their rules and bands).
"""

from django.contrib.auth.decorators import login_required, permission_required
from django.db.models import Prefetch
from django.shortcuts import render

from .models import GradeBand, ScoringModel, ScoringRule


@login_required
@permission_required("leadscoring.view_scoringmodel", raise_exception=True)
def scoring_model_list_page(request):
    models = ScoringModel.objects.order_by("-is_primary", "name", "id").prefetch_related(
        Prefetch("rules", queryset=ScoringRule.objects.order_by("id")),
        Prefetch("grade_bands", queryset=GradeBand.objects.order_by("-min_score")),
    )[:200]
    user = request.user
    return render(
        request,
        "leadscoring/model_list.html",
        {
            "scoring_models": models,
            "can_edit": user.is_staff and user.has_perm("leadscoring.change_scoringmodel"),
        },
    )
