"""The admin saves scoring models, rules and grade bands through `scoring_model_save`, the service the
API uses: one transaction, the same checks, a live model's recompute scheduled, new interaction rules
given the default cap. The forms check first (the errors show at the field and at the inline row, and
nothing is saved); the service then writes the model with its rules and bands at once. Should the
service still refuse (a rule deleted or a name taken meanwhile), the page's transaction is rolled back
and the page comes back with the reason: nothing is saved."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.http import HttpResponseRedirect

from .models import GradeBand, ScoringModel, ScoringRule
from .services import BAND_FIELDS, RULE_FIELDS, scoring_model_save


def rule_row(form) -> dict:
    """The rule of a valid rule form, as the service takes it: a saved rule by its id (changed in
    place); a new interaction rule whose cap was left blank gets the default cap, as in the API."""
    rule = form.instance
    values = {name: getattr(rule, name) for name in RULE_FIELDS}
    if rule.pk is None:
        if values["interaction_kind"] and values["max_count"] is None:
            del values["max_count"]
        return values
    return {"id": rule.pk, **values}


def _kept_forms(formset) -> list:
    """The inline's rows that stay: not marked for deletion, and saved or filled in."""
    deleted = {id(form) for form in formset.deleted_forms}
    return [
        form
        for form in formset.forms
        if id(form) not in deleted and (form.instance.pk is not None or form.has_changed())
    ]


def _note_changes(formset, kept: list) -> None:
    """What the admin's history records for an inline (the formset's save() would have set these)."""
    formset.new_objects = [form.instance for form in kept if form.instance.pk is None]
    formset.changed_objects = [
        (form.instance, form.changed_data) for form in kept if form.instance.pk and form.changed_data
    ]
    formset.deleted_objects = [form.instance for form in formset.deleted_forms if form.instance.pk]


def locked_model(pk: int) -> ScoringModel:
    """The scoring model, locked until commit, so two admin saves of its rules do not interleave."""
    return ScoringModel.objects.select_for_update().get(pk=pk)


class RefusedWriteAsMessage:
    """A write the service (or the database) refuses after the forms passed: rolled back with the
    page's transaction, reported at the top of the page it was made from."""

    def _refused(self, request, error: Exception):
        reasons = error.messages if isinstance(error, ValidationError) else [str(error).strip()]
        self.message_user(request, f"Nothing was saved: {'; '.join(reasons)}", messages.ERROR)
        return HttpResponseRedirect(request.get_full_path())

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except (ValidationError, IntegrityError) as error:
            return self._refused(request, error)

    def delete_view(self, request, object_id, extra_context=None):
        try:
            return super().delete_view(request, object_id, extra_context)
        except (ValidationError, IntegrityError) as error:
            return self._refused(request, error)


class ScoringModelWrites(RefusedWriteAsMessage):
    """For the scoring model's admin: the model, its rule rows and its band rows in one service call.
    Rules the page did not show (added elsewhere since it was opened) are kept, as Django's formsets
    keep them; the bands on the page are the model's bands (they are checked as one set)."""

    def save_model(self, request, obj, form, change):
        """Nothing yet: `save_related` saves the model together with its rows."""

    def save_related(self, request, form, formsets, change):
        names = form.changed_data if change else list(form.fields)
        readonly = self.get_readonly_fields(request, form.instance)
        data = {name: getattr(form.instance, name) for name in names if name not in readonly}
        rows = {}
        for formset in formsets:
            kept = _kept_forms(formset)
            _note_changes(formset, kept)
            if formset.model is ScoringRule:
                rows["rules"] = [rule_row(f) for f in kept]
                shown = [f.instance.pk for f in formset.forms if f.instance.pk is not None]
            elif formset.model is GradeBand:
                rows["grade_bands"] = [{n: getattr(f.instance, n) for n in BAND_FIELDS} for f in kept]
        model = locked_model(form.instance.pk) if change else None
        if model is not None and "rules" in rows:
            unseen = model.rules.exclude(pk__in=shown).values_list("pk", flat=True)
            rows["rules"] += [{"id": pk} for pk in unseen]
        saved = scoring_model_save(
            model=model, data=data, rules=rows.get("rules"), grade_bands=rows.get("grade_bands")
        )
        form.instance.pk = saved.pk
        form.instance._state.adding = False
        form.instance.refresh_from_db()


class ScoringRuleWrites(RefusedWriteAsMessage):
    """For the scoring rule's admin: a rule is saved or deleted as a change of its model's rules (the
    model's other rules kept as they are), so the model's checks and recompute follow."""

    def get_readonly_fields(self, request, obj=None):
        # A saved rule stays in its model (a rule for another model is added there).
        return ("model",) if obj is not None else ()

    def save_model(self, request, obj, form, change):
        model = locked_model(obj.model_id)
        others = list(model.rules.exclude(pk=obj.pk).values_list("pk", flat=True))
        scoring_model_save(
            model=model, data={}, rules=[*({"id": pk} for pk in others), rule_row(form)], grade_bands=None
        )
        if not change:
            obj.pk = model.rules.exclude(pk__in=others).values_list("pk", flat=True).get()
            obj._state.adding = False

    def delete_model(self, request, obj):
        self._delete(model_id=obj.model_id, rule_ids=[obj.pk])

    @transaction.atomic
    def delete_queryset(self, request, queryset):
        by_model: dict[int, list[int]] = {}
        for pk, model_id in queryset.values_list("pk", "model_id"):
            by_model.setdefault(model_id, []).append(pk)
        for model_id, rule_ids in sorted(by_model.items()):
            self._delete(model_id=model_id, rule_ids=rule_ids)

    @staticmethod
    def _delete(*, model_id: int, rule_ids: list[int]) -> None:
        model = locked_model(model_id)
        kept = model.rules.exclude(pk__in=rule_ids).values_list("pk", flat=True)
        scoring_model_save(model=model, data={}, rules=[{"id": pk} for pk in kept], grade_bands=None)
