"""Viewsets of the CRM resources and the token endpoint.

Every model viewset checks the caller's role with RoleModelPermissions. The
large lists (contacts, leads, interactions) are keyset-paginated; the others
use numbered pages with a count. A list page is one query for its rows (every
related record is exposed as its id), whatever the page size.
"""

from __future__ import annotations

from django.contrib.auth import authenticate
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import Throttled, ValidationError
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from crm_core import access, login_limits, models, selectors, services

from . import filters, serializers
from .lead_actions import LeadLifecycleActionsMixin
from .merges import MERGED_404, ContactMergeActionsMixin
from .ordering import KeysetOrderingFilter
from .pagination import KeysetPagination, StandardPagination
from .parsers import FormParser, JSONParser, MultiPartParser
from .permissions import RoleModelPermissions
from .throttling import AnonRateThrottle
from .tokens import token_expires_at, token_issue
from .writes import ServiceWritesMixin


class CRMModelViewSet(ServiceWritesMixin, viewsets.ModelViewSet):
    """The CRM resources: role permissions, strict filters and search, indexed orderings; writes go
    through the owning services (`create_service`, `update_service`, `delete_service`: see
    crm_core.api.writes)."""

    permission_classes = [RoleModelPermissions]
    filter_backends = [DjangoFilterBackend, filters.StrictSearchFilter, KeysetOrderingFilter]
    pagination_class = StandardPagination
    ordering_fields = ["id", "created_at"]
    conflicts = {
        "contact_email_ci_unique": ("email", "A contact with this email already exists."),
        "crm_core_subscriptionlist_name_key": ("name", "A subscription list with this name already exists."),
    }


class AccountViewSet(CRMModelViewSet):
    """Accounts (companies)."""

    queryset = models.Account.objects.all()
    serializer_class = serializers.AccountSerializer
    filterset_class = filters.AccountFilter
    search_fields = ["name", "country"]
    ordering_fields = ["id", "name", "created_at"]
    ordering = ["name"]
    create_service = staticmethod(services.account_create)
    update_service = staticmethod(services.account_update)
    delete_service = staticmethod(services.account_delete)


CONTACT_VIEW_PARAMETER = OpenApiParameter(
    "view",
    OpenApiTypes.STR,
    enum=list(selectors.VIEWS),
    description=(
        "`sales` leaves out marketing-only contacts; `marketing` shows all. "
        "Default: `sales` for sales reps, `marketing` for everyone else."
    ),
)


@extend_schema_view(
    list=extend_schema(parameters=[CONTACT_VIEW_PARAMETER]),
    retrieve=extend_schema(responses={200: serializers.ContactSerializer, 404: MERGED_404}),
    update=extend_schema(responses={200: serializers.ContactSerializer, 404: MERGED_404}),
    partial_update=extend_schema(responses={200: serializers.ContactSerializer, 404: MERGED_404}),
)
class ContactViewSet(ContactMergeActionsMixin, CRMModelViewSet):
    """Contacts, as the caller's view shows them (`?view=sales|marketing`)."""

    queryset = models.Contact.objects.all()
    serializer_class = serializers.ContactSerializer
    filterset_class = filters.ContactFilter
    pagination_class = KeysetPagination
    search_fields = ["first_name", "last_name", "email"]
    ordering_fields = ["id", "created_at", "last_name"]
    create_service = staticmethod(services.contact_create)
    update_service = staticmethod(services.contact_update)
    delete_service = staticmethod(services.contact_delete)

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)  # authentication, role, throttling first
        view = request.query_params.get("view") or None
        if view is not None and view not in selectors.VIEWS:
            raise ValidationError(
                {"view": [f"Unknown view {view!r}; expected one of: {', '.join(selectors.VIEWS)}."]}
            )
        # A list shows the caller's default view; a single contact is found whatever the view.
        self.contact_view = view if view is not None or self.action == "list" else selectors.VIEW_MARKETING

    def get_queryset(self):
        # Before initial() has validated ?view= (the role check asks for the model): all contacts.
        view = getattr(self, "contact_view", selectors.VIEW_MARKETING)
        return selectors.contact_list(viewer=self.request.user, view=view)


class LeadViewSet(LeadLifecycleActionsMixin, CRMModelViewSet):
    """Leads; writes go through the lead services so the orphan-lead workflow runs."""

    queryset = models.Lead.objects.all()
    serializer_class = serializers.LeadSerializer
    filterset_class = filters.LeadFilter
    pagination_class = KeysetPagination
    search_fields = ["topic", "last_name", "email", "company_name"]
    # Not `score`: it has no index, so that copying scores onto leads stays a HOT update
    # (crm_core 0011/0012); `?score__gte=` still filters by it.
    ordering_fields = ["id", "created_at", "topic"]

    create_service = staticmethod(services.lead_create)
    update_service = staticmethod(services.lead_update)
    delete_service = staticmethod(services.lead_delete)

    def perform_update(self, serializer):
        access.check_lead_edit(self.request.user, serializer.instance)
        super().perform_update(serializer)

    def perform_destroy(self, instance):
        access.check_lead_edit(self.request.user, instance)
        super().perform_destroy(instance)

    @extend_schema(request=serializers.LeadAssignSerializer, responses={200: serializers.LeadSerializer})
    @action(detail=True, methods=["post"])
    def assign(self, request, pk=None):
        """Give the lead to another owner (marketers and admins; a rep may take an unowned lead)."""
        lead = self.get_object()
        params = serializers.LeadAssignSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        access.check_lead_assign(request.user, lead, params.validated_data["owner"])
        lead = services.lead_assign(lead=lead, actor=request.user, **params.validated_data)
        return Response(serializers.LeadSerializer(lead).data)


class CustomFieldViewSet(CRMModelViewSet):
    """Custom field definitions (marketing and admin define them; everyone may read them). Deleting
    a field still used by a segment, a landing form or an email template answers 409 naming where."""

    queryset = models.CustomField.objects.all()
    serializer_class = serializers.CustomFieldSerializer
    filterset_class = filters.CustomFieldFilter
    pagination_class = StandardPagination
    search_fields = ["key", "label"]
    ordering_fields = ["id"]
    create_service = staticmethod(services.custom_field_create)
    update_service = staticmethod(services.custom_field_update)
    delete_service = staticmethod(services.custom_field_delete)
    instance_kw = "custom_field"

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        if request.method not in ("GET", "HEAD", "OPTIONS"):
            access.check_custom_field_define(request.user)


class OpportunityViewSet(CRMModelViewSet):
    """Opportunities."""

    queryset = models.Opportunity.objects.all()
    serializer_class = serializers.OpportunitySerializer
    filterset_class = filters.OpportunityFilter
    search_fields = ["name"]
    ordering_fields = ["id", "created_at", "name"]
    create_service = staticmethod(services.opportunity_create)
    update_service = staticmethod(services.opportunity_update)
    delete_service = staticmethod(services.opportunity_delete)


class InteractionViewSet(CRMModelViewSet):
    """Interaction records of contacts (email opens and clicks, visits, forms, downloads, events)."""

    queryset = models.Interaction.objects.all()
    serializer_class = serializers.InteractionSerializer
    filterset_class = filters.InteractionFilter
    pagination_class = KeysetPagination
    filter_backends = [DjangoFilterBackend, KeysetOrderingFilter]
    ordering_fields = ["id"]
    delete_service = staticmethod(services.interaction_delete)

    @staticmethod
    def create_service(*, actor, contact, **fields):
        return services.interaction_record(contact_id=contact.pk, actor=actor, **fields)

    update_service = staticmethod(services.interaction_update)


class SubscriptionListViewSet(CRMModelViewSet):
    """Subscription lists."""

    queryset = models.SubscriptionList.objects.all()
    serializer_class = serializers.SubscriptionListSerializer
    filterset_class = filters.SubscriptionListFilter
    search_fields = ["name"]
    ordering_fields = ["id", "name", "created_at"]
    ordering = ["name"]
    instance_kw = "subscription_list"
    create_service = staticmethod(services.subscription_list_create)
    update_service = staticmethod(services.subscription_list_update)


class LoginLocked(Throttled):
    """429 for a username locked by too many failed logins (crm_core.login_limits)."""

    default_detail = "Too many failed log-in attempts for this username; it is locked from every address."


class AuthTokenView(APIView):
    """POST a username and password, get the API token to send as `Authorization: Token <token>`."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [AnonRateThrottle]
    parser_classes = [JSONParser, FormParser, MultiPartParser]

    @extend_schema(
        request=serializers.AuthTokenRequestSerializer,
        responses={200: serializers.AuthTokenSerializer},
        auth=[],
    )
    def post(self, request):
        credentials = serializers.AuthTokenRequestSerializer(data=request.data)
        credentials.is_valid(raise_exception=True)
        username = credentials.validated_data["username"]
        seconds = login_limits.login_locked_for(username)
        if seconds is not None:  # locked whatever the address and the password
            raise LoginLocked(wait=seconds)
        user = authenticate(
            request=request,
            username=credentials.validated_data["username"],
            password=credentials.validated_data["password"],
        )
        if user is None:
            raise ValidationError({"non_field_errors": ["Unable to log in with the given credentials."]})
        login_limits.login_failures_clear(username)
        token = token_issue(user=user)  # the live one, or a new one if it expired
        return Response(
            {"token": token.key, "expires_at": token_expires_at(token)}, status=status.HTTP_200_OK
        )


class AuthTokenRotateView(APIView):
    """POST with a live token (or a session): a new token; the old one stops working at once."""

    @extend_schema(request=None, responses={200: serializers.AuthTokenSerializer})
    def post(self, request):
        token = token_issue(user=request.user, rotate=True)
        return Response(
            {"token": token.key, "expires_at": token_expires_at(token)}, status=status.HTTP_200_OK
        )
