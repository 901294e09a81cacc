"""A scoring rule's condition in the admin: the condition-tree widget (no JSON textarea), checked on
the server by the check the API uses; a bad condition is shown at the field and nothing is saved."""

import json
import re

import pytest
from django.urls import reverse

from leadscoring.models import ScoringRule
from leadscoring.tests.factories import ScoringModelFactory, ScoringRuleFactory
from segments.services import segment_create

pytestmark = pytest.mark.django_db

GOOD = {
    "entity": "lead",
    "match": "all",
    "conditions": [{"field": "topic", "op": "contains", "value": "demo"}],
}
BAD = {"entity": "lead", "match": "all", "conditions": [{"field": "no_such_field", "op": "eq", "value": "x"}]}


def _rule_data(model, **values) -> dict:
    data = {
        "model": model.pk, "name": "Asked for a demo", "interaction_kind": "", "url_contains": "",
        "email": "", "form": "", "event": "", "points": "15", "max_count": "",
    }  # fmt: skip
    return {**data, **values}


def _field_errors(html: str) -> str:
    """The text of the condition field's row (its error list comes first in the admin)."""
    match = re.search(r'<div class="form-row[^"]*field-condition[^"]*">(.*?)</fieldset>', html, re.S)
    assert match, "no condition row"
    return match.group(1)


def test_the_change_page_mounts_the_condition_tree_not_a_textarea(client, admin_user):
    rule = ScoringRuleFactory(interaction_kind=None, condition=GOOD)
    client.force_login(admin_user)
    html = client.get(reverse("admin:leadscoring_scoringrule_change", args=[rule.pk])).content.decode()
    assert "data-condition-widget" in html
    assert '<textarea name="condition"' not in html
    assert re.search(r'<script src="[^"]*leadscoring/admin-condition\.js" type="module">', html)
    hidden = re.search(r'<input type="hidden" name="condition" value="([^"]*)"', html).group(1)
    assert json.loads(hidden.replace("&quot;", '"')) == GOOD


def test_a_valid_condition_is_saved(client, admin_user):
    model = ScoringModelFactory()
    client.force_login(admin_user)
    response = client.post(
        reverse("admin:leadscoring_scoringrule_add"), _rule_data(model, condition=json.dumps(GOOD))
    )
    assert response.status_code == 302
    rule = ScoringRule.objects.get(model=model)
    assert rule.condition == GOOD and rule.interaction_kind is None


def test_a_bad_condition_is_refused_at_the_field_and_nothing_is_saved(client, admin_user):
    model = ScoringModelFactory()
    client.force_login(admin_user)
    response = client.post(
        reverse("admin:leadscoring_scoringrule_add"), _rule_data(model, condition=json.dumps(BAD))
    )
    assert response.status_code == 200
    row = _field_errors(response.content.decode())
    assert "Fix the marked rows of the condition" in row and "no_such_field" in row
    assert "needs a condition" not in response.content.decode()  # one error, not two
    # the problems go to the widget, which marks the row they name
    problems = re.search(r'<script type="application/json">(\[.*?\])</script>', row).group(1)
    assert json.loads(problems)[0]["path"].startswith("conditions[0]")
    assert not ScoringRule.objects.filter(model=model).exists()


def test_an_unreadable_condition_is_refused_at_the_field(client, admin_user):
    model = ScoringModelFactory()
    client.force_login(admin_user)
    response = client.post(reverse("admin:leadscoring_scoringrule_add"), _rule_data(model, condition="{oops"))
    assert response.status_code == 200
    assert "could not be read" in _field_errors(response.content.decode())
    assert not ScoringRule.objects.filter(model=model).exists()


def test_an_interaction_rule_has_no_condition(client, admin_user):
    model = ScoringModelFactory()
    client.force_login(admin_user)
    data = _rule_data(model, interaction_kind="email_open", condition="", max_count="3")
    assert client.post(reverse("admin:leadscoring_scoringrule_add"), data).status_code == 302
    assert ScoringRule.objects.get(model=model).condition is None


def test_a_bad_condition_in_the_models_inline_changes_nothing(client, admin_user):
    model = ScoringModelFactory(name="Main")
    rule = ScoringRuleFactory(model=model, name="Demo asked", interaction_kind=None, condition=GOOD, points=5)
    client.force_login(admin_user)
    data = {
        "name": "Main", "status": model.status, "sales_ready_threshold": "100", "decay_mode": "none",
        "decay_days": "", "grade_bands-TOTAL_FORMS": "0", "grade_bands-INITIAL_FORMS": "0",
        "rules-TOTAL_FORMS": "1", "rules-INITIAL_FORMS": "1", "rules-0-id": rule.pk,
        "rules-0-model": model.pk, "rules-0-name": "Renamed", "rules-0-interaction_kind": "",
        "rules-0-points": "50", "rules-0-condition": json.dumps(BAD),
    }  # fmt: skip
    response = client.post(reverse("admin:leadscoring_scoringmodel_change", args=[model.pk]), data)
    assert response.status_code == 200
    assert "Fix the marked rows of the condition" in response.content.decode()
    rule.refresh_from_db()
    assert (rule.name, rule.points, rule.condition) == ("Demo asked", 5, GOOD)


def test_the_registry_the_widget_reads_is_for_staff(client, admin_user):
    url = reverse("admin:leadscoring_scoringrule_condition_registry")
    assert client.get(url).status_code == 302  # to the admin login
    client.force_login(admin_user)
    segment_create(name="Customers", definition={"entity": "contact", "conditions": []})
    answer = client.get(url).json()
    assert "lead" in answer["registry"]["entities"]
    assert [s["name"] for s in answer["segments"]] == ["Customers"]
