"""`/api/email-templates/`: reusable emails (the editor saves here), their preview for a contact,
a test send, a check without saving, and the merge fields the editor offers."""

from __future__ import annotations

import logging
import math
import smtplib

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import Throttled
from rest_framework.response import Response
from rest_framework.settings import api_settings

from crm_core.api.permissions import RoleModelPermissions
from crm_core.api.serializers import StrictModelSerializer, StrictSerializer
from crm_core.api.throttling import ScopedRateThrottle, retry_wording
from crm_core.api.writes import ServiceWritesMixin
from crm_core.jsontext import StorableJSONField, storable_json_mapping
from crm_core.models import Contact

from .. import services
from ..email_compile import EmailInvalid, compile_email, link_report, merge_field_choices
from ..models import EmailKind, EmailTemplate

logger = logging.getLogger(__name__)


class EmailTemplateSerializer(StrictModelSerializer):
    serializer_field_mapping = storable_json_mapping(serializers.ModelSerializer.serializer_field_mapping)
    editor_data = StorableJSONField(
        required=False, help_text="the visual editor's project data, kept for the editor as it gave it"
    )
    links = serializers.SerializerMethodField(help_text="each link of the compiled HTML: {url, ok, problem}")

    class Meta:
        model = EmailTemplate
        fields = (
            "id",
            "name",
            "kind",
            "subject",
            "preheader",
            "editor_data",
            "mjml",
            "html",
            "text",
            "links",
            "created_at",
            "updated_at",
        )
        read_only_fields = ("html", "text", "created_at", "updated_at")

    def get_links(self, instance) -> list[dict]:
        return link_report(instance.html)

    def validate_editor_data(self, value):
        if not isinstance(value, dict):
            raise serializers.ValidationError("must be a JSON object (the editor's project data)")
        return value


class EmailCheckSerializer(StrictSerializer):
    mjml = serializers.CharField(trim_whitespace=False)
    kind = serializers.ChoiceField(choices=EmailKind.choices, default=EmailKind.MARKETING)
    subject = serializers.CharField(required=False, allow_blank=True, default="")
    preheader = serializers.CharField(required=False, allow_blank=True, default="")


class PreviewSerializer(StrictSerializer):
    contact = serializers.IntegerField(
        required=False, allow_null=True, min_value=1, max_value=2**63 - 1, help_text="a contact's id"
    )

    def validate_contact(self, value):
        if value is None:
            return None
        contact = Contact.objects.select_related("parent_account").filter(pk=value).first()
        if contact is None:
            raise serializers.ValidationError(f"no contact {value}")
        return contact


class TestSendSerializer(PreviewSerializer):
    to = serializers.EmailField(help_text="the address that gets the test copy")


class EmailTemplateViewSet(ServiceWritesMixin, viewsets.ModelViewSet):
    """Email templates. Saving compiles the MJML (and inlines its CSS), generates the text part and
    refuses a marketing email without an unsubscribe link or with a link that is not absolute."""

    serializer_class = EmailTemplateSerializer
    permission_classes = [RoleModelPermissions]
    queryset = EmailTemplate.objects.all()
    filterset_fields = ["kind"]
    search_fields = ["name", "subject"]
    ordering_fields = ["id", "name", "updated_at"]
    create_service = staticmethod(services.email_template_create)
    update_service = staticmethod(services.email_template_update)
    instance_kw = "email_template"
    # The test send alone has a rate of its own per user (DEFAULT_THROTTLE_RATES["email_test_send"]).
    throttle_scope = "email_test_send"

    def get_throttles(self):
        throttles = super().get_throttles()
        if self.action == "test_send":
            throttles.append(ScopedRateThrottle())
        return throttles

    def throttled(self, request, wait):
        if self.action != "test_send":
            super().throttled(request, wait)
        rate = ScopedRateThrottle().parse_rate(api_settings.DEFAULT_THROTTLE_RATES[self.throttle_scope])
        per = {1: "second", 60: "minute", 3600: "hour", 86400: "day"}[rate[1]]
        detail = f"Too many test emails: at most {rate[0]} per {per}. Try again {retry_wording(wait)}."
        throttled = Throttled(detail=detail)
        throttled.wait = math.ceil(wait) if wait else None  # the Retry-After header
        raise throttled

    @extend_schema(
        request=EmailCheckSerializer, responses={200: OpenApiResponse(description="{ok, errors, links}")}
    )
    @action(detail=False, methods=["post"])
    def check(self, request):
        """Compile and check without saving: every problem and each link's verdict."""
        data = EmailCheckSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            compiled = compile_email(**data.validated_data)
        except EmailInvalid as invalid:
            return Response({"ok": False, "errors": invalid.errors, "links": invalid.links})
        return Response({"ok": True, "errors": {}, "links": compiled.links, "text": compiled.text})

    @extend_schema(responses={200: OpenApiResponse(description="[{entity, field, label, tag}]")})
    @action(detail=False, methods=["get"], url_path="merge-fields")
    def merge_fields(self, request):
        """The merge fields an email may use (contact, account, lead), with suggested defaults."""
        return Response(merge_field_choices())

    @extend_schema(request=PreviewSerializer, responses={200: OpenApiResponse(description="the preview")})
    @action(detail=True, methods=["post"])
    def preview(self, request, pk=None):
        """The email as a contact would get it, and what consent and tracking would do to it."""
        template = self.get_object()
        data = PreviewSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        contact = data.validated_data.get("contact")
        return Response(services.email_template_preview(email_template=template, contact=contact))

    @extend_schema(request=TestSendSerializer, responses={202: OpenApiResponse(description="sent")})
    @action(detail=True, methods=["post"], url_path="test-send")
    def test_send(self, request, pk=None):
        """Send a test copy to an address (not a journey send: no outbox row, no stats)."""
        template = self.get_object()
        data = TestSendSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        to = data.validated_data["to"]
        try:
            services.email_template_test_send(
                email_template=template, to=to, contact=data.validated_data.get("contact")
            )
        except (smtplib.SMTPException, OSError) as error:  # the mail server refused or was unreachable
            logger.warning("test send of email template %s failed: %s", template.pk, error)
            return Response(
                {"detail": f"The mail server did not accept the test email: {error}"},
                status=status.HTTP_502_BAD_GATEWAY,
            )
        return Response({"sent_to": to}, status=status.HTTP_202_ACCEPTED)
