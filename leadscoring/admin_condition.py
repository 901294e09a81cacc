"""The scoring rule's condition in the admin: the segment builder's condition tree (rooted at the
lead) fills a hidden input, in place of a JSON textarea. The tree is checked on the server with the
check the API uses (`conditions.condition_q`); its problems are shown at the field and at the rows
they are about, and the rule is not saved."""

from __future__ import annotations

import json

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.urls import reverse

from .conditions import ConditionError, condition_q
from .models import ScoringRule

REGISTRY_URL_NAME = "admin:leadscoring_scoringrule_condition_registry"


class ConditionWidget(forms.Widget):
    template_name = "leadscoring/widgets/condition.html"

    def __init__(self, attrs=None):
        super().__init__(attrs)
        self.problems: list[dict] = []

    @property
    def media(self):
        return forms.Media(
            css={
                "all": [
                    "vendor/tom-select/css/tom-select.default.min.css",
                    "segments/condition-tree.css",
                    "leadscoring/admin-condition.css",
                ]
            },
            js=[
                "vendor/tom-select/js/tom-select.complete.min.js",
                forms.Script("leadscoring/admin-condition.js", type="module"),
            ],
        )

    def format_value(self, value):
        if value is None or value == "":
            return ""
        return value if isinstance(value, str) else json.dumps(value)

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        context["widget"]["problems"] = self.problems
        context["widget"]["registry_url"] = reverse(REGISTRY_URL_NAME)
        return context


class ConditionField(forms.Field):
    """A condition tree over the lead (None when the hidden input is empty: an interaction rule)."""

    widget = ConditionWidget

    def to_python(self, value):
        if value in (None, "") or isinstance(value, dict):
            return value or None
        try:
            return json.loads(value)
        except (TypeError, ValueError) as error:
            message = "The condition could not be read; build it again."
            raise ValidationError(message, code="invalid") from error

    def validate(self, value):
        super().validate(value)
        if value is None:
            return
        try:
            condition_q(value)
        except ConditionError as error:
            self.widget.problems = [problem.as_dict() for problem in error.problems]
            messages = "; ".join(problem.message for problem in error.problems)
            message = f"Fix the marked rows of the condition: {messages}"
            raise ValidationError(message, code="condition") from error

    def has_changed(self, initial, data):
        try:
            return self.to_python(data) != (initial or None)
        except ValidationError:
            return True


class ScoringRuleForm(forms.ModelForm):
    condition = ConditionField(
        required=False,
        label="Condition",
        help_text="For a rule on the lead or its contact (no interaction kind): the leads it scores.",
    )

    class Meta:
        model = ScoringRule
        fields = ("model", "name", "interaction_kind", "url_contains", "email", "form", "event", "points",
                  "max_count", "condition")  # fmt: skip

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "max_count" in self.fields:
            cap = settings.SCORING_DEFAULT_RULE_CAP
            self.fields["max_count"].help_text = (
                "Count at most this many interactions (the newest). Left blank on a new interaction "
                f"rule: {cap}, the default cap; cleared on a saved rule: no cap."
            )

    def _update_errors(self, errors):
        # A condition that failed its own check is reported once, at the field (the model's clean
        # would add that the rule "needs a condition", as the bad one was not taken).
        if "condition" in self._errors and hasattr(errors, "error_dict"):
            errors.error_dict.pop("condition", None)
        super()._update_errors(errors)
