"""Sales work in the admin, read-only: activities and tasks are written through sales.services (the API
and the record pages), so the admin never bypasses their access rules and notifications."""

from django.contrib import admin

from .models import Activity, Notification, Task


class ReadOnlyAdmin(admin.ModelAdmin):
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Activity)
class ActivityAdmin(ReadOnlyAdmin):
    list_display = ("subject", "kind", "author", "occurred_at", "contact", "lead", "account", "opportunity")
    list_filter = ("kind",)
    raw_id_fields = ("contact", "lead", "account", "opportunity", "author")


@admin.register(Task)
class TaskAdmin(ReadOnlyAdmin):
    list_display = ("title", "owner", "source", "journey_id", "due_at", "done_at", "contact", "lead")
    list_filter = ("source",)
    raw_id_fields = ("contact", "lead", "account", "opportunity", "owner", "created_by", "done_by")


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    list_display = ("user", "kind", "message", "created_at", "read_at")
    list_filter = ("kind",)
    raw_id_fields = ("user", "lead", "task")
