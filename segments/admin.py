from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from crm_core.estimates import EstimatedCountPaginator

from .compiler import describe_definition
from .models import Segment, SegmentMembership, SegmentMembershipEvent


@admin.register(Segment)
class SegmentAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "status", "member_count", "refreshed_at", "last_refresh_seconds")
    list_filter = ("status", "kind")
    search_fields = ("name",)
    # The definition, kind and status change through the builder and the API (services validate
    # the tree and announce the change); the admin shows them.
    readonly_fields = (
        "definition_in_builder", "definition_in_words", "kind", "status", "member_count", "refreshed_at",
        "last_refresh_seconds", "last_refresh_added", "last_refresh_removed",
        "version", "refreshed_version", "entities_in_words",
    )  # fmt: skip
    exclude = ("created_by", "definition", "entities")

    def has_add_permission(self, request):
        return False  # a segment is made in the builder or the API, which validate its definition

    @admin.display(description="definition")
    def definition_in_words(self, segment):
        return describe_definition(segment.definition)

    @admin.display(description="entities read")
    def entities_in_words(self, segment):
        return ", ".join(segment.entities) or "—"

    @admin.display(description="edit")
    def definition_in_builder(self, segment):
        return format_html(
            '<a href="{}">Open in the segment builder</a>', reverse("segments:builder", args=[segment.pk])
        )


@admin.register(SegmentMembership)
class SegmentMembershipAdmin(admin.ModelAdmin):
    list_display = ("segment", "contact", "added_at")
    list_filter = ("segment",)
    raw_id_fields = ("contact",)
    paginator = EstimatedCountPaginator
    show_full_result_count = False
    list_select_related = ("segment", "contact")


@admin.register(SegmentMembershipEvent)
class SegmentMembershipEventAdmin(admin.ModelAdmin):
    list_display = ("segment", "contact_id", "change", "at")
    list_filter = ("change", "segment")
    paginator = EstimatedCountPaginator
    show_full_result_count = False
