from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.http import JsonResponse
from django.urls import path

from crm_core.admin import LeadAdmin as CrmLeadAdmin
from crm_core.models import Lead
from segments.compiler import registry_as_dict
from segments.selectors import segment_choice_rows

from .admin_condition import ScoringRuleForm
from .admin_writes import ScoringModelWrites, ScoringRuleWrites
from .conditions import condition_text
from .models import GradeBand, LeadScore, SalesReadyCrossing, ScoringModel, ScoringRule, grade_bands_validate


class GradeBandFormSet(forms.BaseInlineFormSet):
    def clean(self):
        super().clean()
        # The rows that stay and passed their own checks (a row's own errors show at the row).
        deleted = {id(form) for form in self.deleted_forms}
        bands = [
            form.cleaned_data
            for form in self.forms
            if id(form) not in deleted
            and not form.errors
            and {"grade", "min_score"} <= form.cleaned_data.keys()
        ]
        try:
            grade_bands_validate(bands)
        except ValidationError as error:
            raise ValidationError(error.messages) from error


class GradeBandInline(admin.TabularInline):
    model = GradeBand
    formset = GradeBandFormSet
    extra = 0


class ScoringRuleInline(admin.StackedInline):
    model = ScoringRule
    form = ScoringRuleForm
    extra = 0


@admin.register(ScoringModel)
class ScoringModelAdmin(ScoringModelWrites, admin.ModelAdmin):
    """The model with its grade bands and rules, saved at once through `scoring_model_save` (as the
    API saves them): a live model is recomputed after the save. Deleting a model deletes its rules,
    bands and scores (as the API's delete does)."""

    list_display = (
        "name",
        "status",
        "is_primary",
        "sales_ready_threshold",
        "decay_mode",
        "decay_days",
        "updated_at",
    )
    list_filter = ("status", "is_primary", "decay_mode")
    search_fields = ("name",)
    inlines = [GradeBandInline, ScoringRuleInline]
    actions = ["recompute"]

    @admin.action(description="Recompute scores now (in the worker)")
    def recompute(self, request, queryset):
        from .services import scoring_model_schedule_recompute

        for model in queryset:
            scoring_model_schedule_recompute(model=model)
        messages.success(request, f"Recompute of {queryset.count()} model(s) queued.")


@admin.register(ScoringRule)
class ScoringRuleAdmin(ScoringRuleWrites, admin.ModelAdmin):
    """A rule saved or deleted through `scoring_model_save`, as a change of its model's rules."""

    form = ScoringRuleForm
    fields = ScoringRuleForm.Meta.fields  # the model first, also when it is shown read-only
    list_display = ("name", "model", "interaction_kind", "condition_in_words", "points", "max_count")
    list_filter = ("model", "interaction_kind")
    search_fields = ("name",)

    @admin.display(description="condition")
    def condition_in_words(self, rule):
        return condition_text(rule.condition) if rule.condition else "—"

    def get_urls(self):
        registry = path(
            "condition-registry/",
            self.admin_site.admin_view(self.condition_registry),
            name="leadscoring_scoringrule_condition_registry",
        )
        return [registry, *super().get_urls()]

    def condition_registry(self, request):
        """What the condition widget offers: the fields, operators and relationships (segments'
        registry) and the segments a contact may be a member of."""
        segments = [{"id": pk, "name": name} for pk, name, *_rest in segment_choice_rows()]
        return JsonResponse({"registry": registry_as_dict(), "segments": segments})


class ReadOnlyAdmin(admin.ModelAdmin):
    """Shown here, written only by lead scoring's services."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(GradeBand)
class GradeBandAdmin(ReadOnlyAdmin):
    """Bands are edited together on their scoring model's page (they must stay continuous, so one band
    alone can rarely change), where the model is saved through `scoring_model_save`."""

    list_display = ("model", "grade", "min_score", "max_score")
    list_filter = ("model",)


def _not_counted_text(row) -> str:
    parts = [f"{item['count']} {item['why']}" for item in row["not_counted"]]
    return f"; not counted: {', '.join(parts)}" if parts else ""


def explanation_html(*, lead, model=None):
    """The rules that give a lead its points (as of now), one line each."""
    from django.utils.html import format_html_join

    from .services import lead_score_explain

    rows = lead_score_explain(lead=lead, model=model)
    if not rows:
        return "No rule contributes."
    return format_html_join(
        "",
        "<div>{}: {} point(s) from {} match(es){}</div>",
        ((r["rule"], r["points"], r["count"], _not_counted_text(r)) for r in rows),
    )


class LeadWithScoreAdmin(CrmLeadAdmin):
    """The lead's admin page, with the primary model's score explanation."""

    readonly_fields = (*CrmLeadAdmin.readonly_fields, "score_explanation")

    @admin.display(description="Score explanation (primary model, as of now)")
    def score_explanation(self, obj):
        return explanation_html(lead=obj) if obj.pk else "—"


admin.site.unregister(Lead)
admin.site.register(Lead, LeadWithScoreAdmin)


@admin.register(LeadScore)
class LeadScoreAdmin(ReadOnlyAdmin):
    list_display = ("lead", "model", "score", "grade", "sales_ready", "handoff_state", "computed_at")
    list_filter = ("model", "sales_ready", "grade")
    raw_id_fields = ("lead",)
    show_full_result_count = False
    readonly_fields = ("explanation",)

    @admin.display(description="Explanation (as of now)")
    def explanation(self, obj):
        return explanation_html(lead=obj.lead, model=obj.model)


@admin.register(SalesReadyCrossing)
class SalesReadyCrossingAdmin(ReadOnlyAdmin):
    list_display = ("lead", "model", "direction", "score", "owner", "crossed_at")
    list_filter = ("model", "direction")
    raw_id_fields = ("lead",)
