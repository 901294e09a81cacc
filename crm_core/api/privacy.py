"""Admin-only API for data protection: export everything about a contact, erase a contact."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.views import APIView

from ..models import Contact
from ..privacy import contact_erase, contact_export
from ..roles import ADMIN, user_roles


class IsAdminRole(BasePermission):
    message = "Only admins may export or erase a contact."

    def has_permission(self, request, view):
        return bool(request.user and request.user.is_authenticated and ADMIN in user_roles(request.user))


class EraseRequestSerializer(serializers.Serializer):
    confirm = serializers.BooleanField(help_text="Must be true: erasure cannot be undone.")

    def validate_confirm(self, value):
        if value is not True:
            raise serializers.ValidationError("Send confirm=true to erase this contact; it cannot be undone.")
        return value


class EraseResultSerializer(serializers.Serializer):
    contact = serializers.IntegerField()
    erased = serializers.DictField(child=serializers.IntegerField())


class ContactExportView(APIView):
    """GET: everything held about the contact, as JSON (recorded in the audit log)."""

    permission_classes = [IsAdminRole]

    @extend_schema(responses={200: OpenApiResponse(description="The contact and every related record.")})
    def get(self, request, pk: int):
        contact = get_object_or_404(Contact, pk=pk)
        data = contact_export(contact=contact, actor=request.user)
        response = Response(data)
        response["Content-Disposition"] = f'attachment; filename="contact-{contact.pk}.json"'
        response["Cache-Control"] = "private, no-store"
        return response


class ContactEraseView(APIView):
    """POST {"confirm": true}: remove the contact's personal data (recorded in the audit log)."""

    permission_classes = [IsAdminRole]

    @extend_schema(request=EraseRequestSerializer, responses=EraseResultSerializer)
    def post(self, request, pk: int):
        contact = get_object_or_404(Contact, pk=pk)
        EraseRequestSerializer(data=request.data).is_valid(raise_exception=True)
        done = contact_erase(contact=contact, actor=request.user)
        return Response({"contact": contact.pk, "erased": done})
