from drf_spectacular.utils import extend_schema
from rest_framework import viewsets
from rest_framework.exceptions import PermissionDenied
from rest_framework.generics import get_object_or_404
from rest_framework.response import Response
from rest_framework.views import APIView

from crm_core.api.pagination import StandardPagination
from crm_core.api.permissions import RoleModelPermissions
from crm_core.api.writes import ServiceWritesMixin
from crm_core.models import Lead

from ..models import LeadScore, ScoringModel, ScoringModelStatus
from ..services import lead_score_explain, scoring_model_save
from .serializers import LeadScoreResponseSerializer, ScoringModelSerializer


class ScoringModelViewSet(ServiceWritesMixin, viewsets.ModelViewSet):
    """Lead-scoring models with their rules and grade bands: marketers edit them, sales reps read them.
    Writes go through `scoring_model_save`, as every API write goes through its service
    (crm_core.api.writes)."""

    queryset = ScoringModel.objects.prefetch_related("rules", "grade_bands")
    serializer_class = ScoringModelSerializer
    permission_classes = [RoleModelPermissions]
    pagination_class = StandardPagination
    filterset_fields = ("status", "is_primary", "decay_mode")
    search_fields = ("name",)
    ordering_fields = ("name", "created_at", "updated_at")
    ordering = ("name", "id")
    instance_kw = "model"

    @staticmethod
    def create_service(*, actor, rules=None, grade_bands=None, **data):
        return scoring_model_save(model=None, data=data, rules=rules, grade_bands=grade_bands)

    @staticmethod
    def update_service(*, model, actor, rules=None, grade_bands=None, **data):
        return scoring_model_save(model=model, data=data, rules=rules, grade_bands=grade_bands)

    def conflict_error(self, error):  # a concurrent request took the name or the primary flag
        return {"non_field_errors": [f"Conflicts with another scoring model: {error}"]}


class LeadScoreView(APIView):
    """A lead's score under each live model, with the rules that contribute as of now."""

    @extend_schema(responses=LeadScoreResponseSerializer)
    def get(self, request, pk: int):
        user = request.user
        if not (user.has_perm("crm_core.view_lead") and user.has_perm("leadscoring.view_leadscore")):
            raise PermissionDenied("You may not read lead scores.")
        lead = get_object_or_404(Lead, pk=pk)
        models = list(
            ScoringModel.objects.filter(status=ScoringModelStatus.LIVE).order_by("-is_primary", "name")
        )
        stored = {row.model_id: row for row in LeadScore.objects.filter(lead=lead, model__in=models)}
        scores = []
        for model in models:
            explanation = lead_score_explain(lead=lead, model=model)
            row = stored.get(model.pk)
            scores.append(
                {
                    "model": model.pk,
                    "model_name": model.name,
                    "is_primary": model.is_primary,
                    "score": row.score if row else None,
                    "grade": row.grade if row else None,
                    "sales_ready": row.sales_ready if row else None,
                    "computed_at": row.computed_at if row else None,
                    "current_score": sum(item["points"] for item in explanation),
                    "explanation": explanation,
                }
            )
        return Response(LeadScoreResponseSerializer({"lead": lead.pk, "scores": scores}).data)
