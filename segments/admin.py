from django.contrib import admin

from crm_core.estimates import EstimatedCountPaginator

from .models import Segment, SegmentMembership, SegmentMembershipEvent


@admin.register(Segment)
class SegmentAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "status", "member_count", "refreshed_at", "last_refresh_seconds")
    list_filter = ("status", "kind")
    search_fields = ("name",)
    readonly_fields = (
        "member_count", "refreshed_at", "last_refresh_seconds", "last_refresh_added", "last_refresh_removed",
        "version", "refreshed_version", "entities",
    )  # fmt: skip


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
