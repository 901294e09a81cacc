"""Duplicates and merges, mixed into the contact viewset.

GET /api/contacts/duplicates/ lists the likely duplicate pairs the duplicate detection job found
(crm_core.duplicates) with the reasons, a count and the scan's state; POST
/api/contacts/duplicates/scan/ queues a scan ("Scan now"); POST /api/contacts/duplicates/dismiss/
{"a", "b"} marks a pair "not a duplicate" (kept across scans);
POST /api/contacts/{survivor}/merge/ with {"other": id} merges `other` into the survivor
(crm_core.services.merge). Both for marketing and admin users (`access.check_contact_merge`, the
check the workspace's pages call). A merged-away id answers every contact operation with a 404 whose
message names the survivor, plus `merged_into` and `survivor_url`.
"""

from __future__ import annotations

from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.exceptions import APIException, NotFound
from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework.utils.urls import replace_query_param

from crm_core import access, duplicates, services
from crm_core.models import Contact, DuplicateScanState

from .pagination import MAX_PAGE_SIZE
from .serializers import ContactSerializer, StrictSerializer

DEFAULT_PAGE_SIZE = 50


class ContactMerged(APIException):
    """404 for an id merged into another contact, naming the survivor."""

    status_code = status.HTTP_404_NOT_FOUND
    default_code = "merged"

    def __init__(self, merged_id: int, survivor_id: int, url: str):
        super().__init__()
        self.detail = {
            "detail": f"Contact {merged_id} was merged into contact {survivor_id}; use {url}",
            "merged_into": survivor_id,
            "survivor_url": url,
        }


class ContactMergedSerializer(serializers.Serializer):
    detail = serializers.CharField()
    merged_into = serializers.IntegerField(required=False, help_text="Set when the id was merged away.")
    survivor_url = serializers.URLField(required=False)


MERGED_404 = OpenApiResponse(
    ContactMergedSerializer,
    description="No such contact; for an id merged into another, `merged_into` and `survivor_url` name it.",
)


class MergeRequestSerializer(StrictSerializer):
    other = serializers.IntegerField(
        min_value=1, help_text="The contact merged into this one (deleted; its id then points here)."
    )


class MergeResultSerializer(serializers.Serializer):
    survivor = ContactSerializer()
    merged = serializers.IntegerField(help_text="The merged-away id.")
    fields_filled = serializers.ListField(child=serializers.CharField())
    consent_changed = serializers.ListField(child=serializers.CharField())
    moved = serializers.DictField(child=serializers.IntegerField(), help_text="Rows moved, by kind.")


class DuplicateContactSerializer(serializers.ModelSerializer):
    class Meta:
        model = Contact
        fields = ("id", "first_name", "last_name", "email", "parent_account")


class DuplicatePairSerializer(serializers.Serializer):
    a = DuplicateContactSerializer()
    b = DuplicateContactSerializer()
    reasons = serializers.ListField(
        child=serializers.ChoiceField(choices=list(duplicates.REASONS)), help_text="Why they look alike."
    )


class DuplicateScanSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    state = serializers.ChoiceField(choices=DuplicateScanState.choices)
    requested_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    pairs = serializers.IntegerField(allow_null=True, help_text="Pairs found (dismissed ones included).")


class DuplicatePageSerializer(serializers.Serializer):
    count = serializers.IntegerField(help_text="Pairs in all (not dismissed).")
    scanning = DuplicateScanSerializer(allow_null=True, help_text="The queued or running scan.")
    last_scan = DuplicateScanSerializer(allow_null=True, help_text="The last finished scan.")
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = DuplicatePairSerializer(many=True)


class DismissRequestSerializer(StrictSerializer):
    a = serializers.IntegerField(min_value=1)
    b = serializers.IntegerField(min_value=1)


class DismissResultSerializer(serializers.Serializer):
    a = serializers.IntegerField(source="contact_a_id")
    b = serializers.IntegerField(source="contact_b_id")
    dismissed = serializers.BooleanField()
    dismissed_at = serializers.DateTimeField()


CURSOR = OpenApiParameter(
    "cursor", OpenApiTypes.STR, description="The `next` link's cursor (`<a>.<b>`: after that pair)."
)
PAGE_SIZE = OpenApiParameter(
    "page_size", OpenApiTypes.INT, description=f"Pairs per page, up to {MAX_PAGE_SIZE}."
)
CONTACT = OpenApiParameter(
    "contact", OpenApiTypes.INT, description="Only the pairs of this contact (one page)."
)


def _whole(raw: str | None, name: str, default: int | None) -> int | None:
    if raw is None:
        return default
    if not (raw.isascii() and raw.isdigit()) or int(raw) < 1 or len(raw) > 18:
        raise serializers.ValidationError({name: ["A whole number of at least 1."]})
    return int(raw)


def _cursor(raw: str | None) -> tuple[int, int] | None:
    if raw is None:
        return None
    parts = raw.split(".")
    if len(parts) != 2 or not all(p.isascii() and p.isdigit() and len(p) <= 19 for p in parts):
        raise NotFound("Invalid cursor.")
    return int(parts[0]), int(parts[1])


def duplicate_rows(pairs) -> list[dict]:
    """The pairs with both contacts' summaries (one query for the page)."""
    ids = {pk for pair in pairs for pk in (pair.a_id, pair.b_id)}
    contacts = Contact.objects.only(*DuplicateContactSerializer.Meta.fields).in_bulk(ids)
    return [
        {"a": contacts[p.a_id], "b": contacts[p.b_id], "reasons": list(p.reasons)}
        for p in pairs
        if p.a_id in contacts and p.b_id in contacts
    ]


class ContactMergeActionsMixin:
    """duplicates, merge and the merged-away id's pointer, for the viewset over Contact."""

    def get_object(self):
        try:
            return super().get_object()
        except Http404 as missing:
            survivor = services.merge_survivor(self.kwargs.get("pk"))
            if survivor is None:
                raise
            url = reverse("contact-detail", kwargs={"pk": survivor}, request=self.request)
            raise ContactMerged(int(self.kwargs["pk"]), survivor, url) from missing

    @extend_schema(parameters=[CURSOR, PAGE_SIZE, CONTACT], responses=DuplicatePageSerializer)
    @action(detail=False, methods=["get"], pagination_class=None, filter_backends=[])
    def duplicates(self, request):
        """The likely duplicate pairs the last scan found, with their reasons, in (a, b) order (keyset
        pages: `next` until the last page), how many in all, the scan running and the last one."""
        access.check_contact_merge(request.user)
        params = request.query_params
        limit = min(_whole(params.get("page_size"), "page_size", DEFAULT_PAGE_SIZE), MAX_PAGE_SIZE)
        contact_id = _whole(params.get("contact"), "contact", None)
        page = duplicates.duplicate_pairs(
            after=_cursor(params.get("cursor")), limit=limit, contact_id=contact_id
        )
        url = request.build_absolute_uri()
        following = page.next_after and replace_query_param(url, "cursor", "{}.{}".format(*page.next_after))
        status_now = duplicates.scan_status()
        body = {
            "count": len(page.pairs) if contact_id is not None else duplicates.duplicate_count(),
            "scanning": status_now.active,
            "last_scan": status_now.last,
            "next": following or None,
            "previous": None,
            "results": duplicate_rows(page.pairs),
        }
        return Response(DuplicatePageSerializer(body).data)

    @extend_schema(request=None, responses={202: DuplicateScanSerializer})
    @action(
        detail=False, methods=["post"], url_path="duplicates/scan", pagination_class=None, filter_backends=[]
    )
    def duplicates_scan(self, request):
        """Scan now: queue the duplicate detection job (the queued or running scan when there is one)."""
        access.check_contact_merge(request.user)
        scan = services.duplicates_scan_request(actor=request.user)
        return Response(DuplicateScanSerializer(scan).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(request=DismissRequestSerializer, responses=DismissResultSerializer)
    @action(
        detail=False,
        methods=["post"],
        url_path="duplicates/dismiss",
        pagination_class=None,
        filter_backends=[],
    )
    def duplicates_dismiss(self, request):
        """Not a duplicate: the pair (a, b, either order) no longer shows, across scans."""
        access.check_contact_merge(request.user)
        params = DismissRequestSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        candidate = services.duplicate_dismiss(**params.validated_data, actor=request.user)
        return Response(DismissResultSerializer(candidate).data)

    @extend_schema(request=MergeRequestSerializer, responses={200: MergeResultSerializer, 404: MERGED_404})
    @action(detail=True, methods=["post"])
    def merge(self, request, pk=None):
        """Merge `other` into this contact: this one keeps its values (empty ones filled from the
        other), every related record moves here, consent keeps the stricter value of each field."""
        access.check_contact_merge(request.user)
        survivor = self.get_object()
        params = MergeRequestSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        details = services.contacts_merge(
            survivor_id=survivor.pk, other_id=params.validated_data["other"], actor=request.user
        )
        body = {**details, "survivor": Contact.objects.get(pk=survivor.pk)}
        return Response(MergeResultSerializer(body).data)
