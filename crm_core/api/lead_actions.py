"""Lead lifecycle actions and the bulk import, mixed into the lead viewset.

POST /api/leads/{id}/accept/, /qualify/, /disqualify/, /return-to-marketing/ move a lead through
its lifecycle (sales and admin users); POST /api/leads/{id}/identity-link/ and /identity-dismiss/
review a lead in identity conflict (marketing and admin users); POST /api/leads/bulk/ imports up
to 10,000 leads in one request (marketing and admin users). The viewset in views.py inherits this
mixin; everything these actions need lives in this module.
"""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.exceptions import APIException, ValidationError
from rest_framework.permissions import BasePermission
from rest_framework.response import Response

from crm_core import access, services
from crm_core.models import Contact, Lead, LeadStatusChange, Opportunity
from crm_core.roles import ADMIN, MARKETING, user_roles

from .permissions import RoleModelPermissions
from .serializers import StrictSerializer


class CanMoveLeadsThroughSales(BasePermission):
    message = "Only sales and admin users can accept, qualify, disqualify or return leads."

    def has_permission(self, request, view):
        return access.may_move_leads_through_sales(request.user)


class CanImportLeads(BasePermission):
    message = "Only marketing and admin users can import leads in bulk."

    def has_permission(self, request, view):
        return bool(user_roles(request.user) & {MARKETING, ADMIN})


class PayloadTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request is too large."
    default_code = "payload_too_large"


class LeadTransitionSerializer(StrictSerializer):
    reason = serializers.CharField(required=False, allow_blank=True, max_length=2000)


class LeadQualifySerializer(LeadTransitionSerializer):
    opportunity_name = serializers.CharField(required=False, allow_blank=True, max_length=200)
    amount = serializers.DecimalField(
        max_digits=14, decimal_places=2, required=False, allow_null=True, min_value=0
    )
    close_date = serializers.DateField(required=False, allow_null=True)


class LeadStatusChangeSerializer(serializers.ModelSerializer):
    class Meta:
        model = LeadStatusChange
        fields = ("id", "from_status", "to_status", "actor", "reason", "opportunity", "changed_at")


class LeadOpportunitySerializer(serializers.ModelSerializer):
    class Meta:
        model = Opportunity
        fields = (
            "id",
            "name",
            "account",
            "contact",
            "originating_lead",
            "owner",
            "stage",
            "status",
            "amount",
        )


class LeadLifecycleSerializer(serializers.ModelSerializer):
    """The lead after a transition."""

    class Meta:
        model = Lead
        fields = (
            "id",
            "topic",
            "first_name",
            "last_name",
            "email",
            "company_name",
            "status",
            "parent_contact",
            "parent_account",
            "owner",
            "score",
            "sales_ready",
            "source",
            "created_at",
            "updated_at",
        )


class LeadTransitionResultSerializer(LeadLifecycleSerializer):
    """What a lifecycle action answers (the schema's account of `_transition`'s body)."""

    status_change = LeadStatusChangeSerializer(read_only=True)
    opportunity = LeadOpportunitySerializer(
        read_only=True, allow_null=True, help_text="Set by qualify; else null."
    )

    class Meta(LeadLifecycleSerializer.Meta):
        fields = (*LeadLifecycleSerializer.Meta.fields, "status_change", "opportunity")


class LeadIdentitySerializer(LeadLifecycleSerializer):
    """The lead after an identity review step."""

    class Meta(LeadLifecycleSerializer.Meta):
        fields = (*LeadLifecycleSerializer.Meta.fields, "identity_status", "identity_conflict_contact")


class LeadIdentityLinkSerializer(StrictSerializer):
    contact = serializers.PrimaryKeyRelatedField(
        queryset=Contact.objects.all(),
        required=False,
        allow_null=True,
        help_text="The contact to link the lead to; default: the known contact it conflicted with.",
    )


class LeadIdentityDismissSerializer(StrictSerializer):
    reason = serializers.CharField(
        required=False, allow_blank=True, max_length=2000, help_text="Recorded with the disqualification."
    )


class LeadBulkImportResultSerializer(serializers.Serializer):
    leads_created = serializers.IntegerField()
    contacts_created = serializers.IntegerField()
    contacts_linked = serializers.IntegerField(help_text="existing contacts the new leads were linked to")
    leads_linked = serializers.IntegerField(help_text="new leads given a parent contact by the workflow")
    lead_ids = serializers.ListField(child=serializers.IntegerField())


TRANSITION_PERMISSIONS = [RoleModelPermissions, CanMoveLeadsThroughSales]


class LeadLifecycleActionsMixin:
    """accept, qualify, disqualify, return-to-marketing and bulk, for a viewset over Lead."""

    def _transition(self, request, service, serializer_class=LeadTransitionSerializer):
        lead = access.check_lead_action(request.user, self.get_object())
        params = serializer_class(data=request.data)
        params.is_valid(raise_exception=True)
        try:
            outcome = service(lead=lead, actor=request.user, **params.validated_data)
        except services.LeadTransitionError as error:
            raise ValidationError({"status": [str(error)]}) from error
        lead, opportunity = outcome if isinstance(outcome, tuple) else (outcome, None)
        body = LeadLifecycleSerializer(lead).data
        body["status_change"] = LeadStatusChangeSerializer(lead.status_changes.order_by("-id").first()).data
        body["opportunity"] = LeadOpportunitySerializer(opportunity).data if opportunity is not None else None
        return Response(body)

    @extend_schema(request=LeadTransitionSerializer, responses=LeadTransitionResultSerializer)
    @action(detail=True, methods=["post"], permission_classes=TRANSITION_PERMISSIONS)
    def accept(self, request, pk=None):
        """Sales accepts the lead (from new or marketing qualified)."""
        return self._transition(request, services.lead_accept)

    @extend_schema(request=LeadQualifySerializer, responses=LeadTransitionResultSerializer)
    @action(detail=True, methods=["post"], permission_classes=TRANSITION_PERMISSIONS)
    def qualify(self, request, pk=None):
        """Qualify the lead: creates an opportunity; its contact becomes a sales contact."""
        return self._transition(request, services.lead_qualify, LeadQualifySerializer)

    @extend_schema(request=LeadTransitionSerializer, responses=LeadTransitionResultSerializer)
    @action(detail=True, methods=["post"], permission_classes=TRANSITION_PERMISSIONS)
    def disqualify(self, request, pk=None):
        return self._transition(request, services.lead_disqualify)

    @extend_schema(request=LeadTransitionSerializer, responses=LeadTransitionResultSerializer)
    @action(
        detail=True,
        methods=["post"],
        url_path="return-to-marketing",
        url_name="return-to-marketing",
        permission_classes=TRANSITION_PERMISSIONS,
    )
    def return_to_marketing(self, request, pk=None):
        """Send the lead back to marketing for nurture."""
        return self._transition(request, services.lead_return_to_marketing)

    def _identity_review(self, request, service, serializer_class):
        lead = access.check_identity_review(request.user, self.get_object())
        params = serializer_class(data=request.data)
        params.is_valid(raise_exception=True)
        try:
            lead = service(lead=lead, actor=request.user, **params.validated_data)
        except services.IdentityReviewError as error:
            raise ValidationError({"identity_status": [str(error)]}) from error
        return Response(LeadIdentitySerializer(lead).data)

    @extend_schema(request=LeadIdentityLinkSerializer, responses=LeadIdentitySerializer)
    @action(detail=True, methods=["post"], url_path="identity-link", url_name="identity-link")
    def identity_link(self, request, pk=None):
        """Link a lead in identity conflict to the known contact (or the `contact` given)."""
        return self._identity_review(request, services.lead_identity_link, LeadIdentityLinkSerializer)

    @extend_schema(request=LeadIdentityDismissSerializer, responses=LeadIdentitySerializer)
    @action(detail=True, methods=["post"], url_path="identity-dismiss", url_name="identity-dismiss")
    def identity_dismiss(self, request, pk=None):
        """Dismiss a lead in identity conflict: it keeps no contact and is disqualified."""
        return self._identity_review(request, services.lead_identity_dismiss, LeadIdentityDismissSerializer)

    @action(detail=False, methods=["post"], permission_classes=[RoleModelPermissions, CanImportLeads])
    def bulk(self, request):
        """Import a JSON list of up to 10,000 leads: all rows valid or nothing saved."""
        rows = request.data
        if not isinstance(rows, list):
            raise ValidationError({"non_field_errors": ["Expected a JSON list of leads."]})
        if not rows:
            raise ValidationError({"non_field_errors": ["The list of leads is empty."]})
        if len(rows) > services.LEAD_IMPORT_MAX_ROWS:
            limit = services.LEAD_IMPORT_MAX_ROWS
            raise PayloadTooLarge(
                f"{len(rows):,} leads in one request; at most {limit:,} are accepted; "
                "split the import into several requests."
            )
        try:
            result = services.lead_bulk_import(rows=rows, imported_by=request.user)
        except services.LeadImportInvalid as invalid:
            body = {
                "detail": f"{invalid}.",
                "rows": [{"row": index, "errors": errors} for index, errors in invalid.errors],
            }
            return Response(body, status=status.HTTP_400_BAD_REQUEST)
        return Response(LeadBulkImportResultSerializer(result).data, status=status.HTTP_201_CREATED)
