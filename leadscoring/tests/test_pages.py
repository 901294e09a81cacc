"""The scoring page: models with status, threshold, decay, rules and grade bands (read-only)."""

import pytest
from django.urls import reverse

from crm_core.tests.factories import MarketerFactory
from leadscoring.models import DecayMode, ScoringModelStatus

from .factories import GradeBandFactory, PrimaryScoringModelFactory, ScoringModelFactory, ScoringRuleFactory

pytestmark = pytest.mark.django_db

URL = reverse("leadscoring:model-list")


def make_models(rules_each: int = 2):
    primary = PrimaryScoringModelFactory(
        name="Default", sales_ready_threshold=120, decay_mode=DecayMode.HALF_LIFE, decay_days=30
    )
    draft = ScoringModelFactory(name="Experiment", status=ScoringModelStatus.DRAFT)
    for model in (primary, draft):
        for n in range(rules_each):
            ScoringRuleFactory(model=model, name=f"{model.name} rule {n}", points=10 + n)
        GradeBandFactory(model=model, grade="A", min_score=100)
        GradeBandFactory(model=model, grade="B", min_score=0, max_score=99)
    ScoringRuleFactory(
        model=primary,
        name="Decision makers",
        interaction_kind=None,
        condition={"conditions": [{"field": "topic", "op": "eq", "value": "widgets"}]},
        points=-5,
    )
    return primary, draft


def test_the_page_shows_models_rules_and_grades(client, sales_rep):
    make_models()
    client.force_login(sales_rep)
    response = client.get(URL)
    assert response.status_code == 200
    html = response.content.decode()
    assert html.index("Default") < html.index("Experiment")  # the primary model first
    assert "primary" in html and "Live" in html and "Draft" in html and "120" in html
    assert "Half-life of N days (30 days)" in html
    assert "Default rule 1" in html and "+11" in html and "Email opened" in html
    assert "Decision makers" in html and "-5" in html and "condition on the lead" in html
    assert "<td>A</td><td>100+</td>" in html and "<td>B</td><td>0 to 99</td>" in html
    assert 'data-testid="edit-in-admin"' not in html  # read-only for sales


def test_edit_in_admin_links_for_those_who_may_change_models(client, admin_user):
    primary, _ = make_models()
    client.force_login(admin_user)
    html = client.get(URL).content.decode()
    assert reverse("admin:leadscoring_scoringmodel_change", args=[primary.pk]) in html
    # a marketer may change models but has no admin access: no link to a page they cannot open
    client.force_login(MarketerFactory(username="mia"))
    assert b'data-testid="edit-in-admin"' not in client.get(URL).content
    client.force_login(MarketerFactory(username="staffmia", is_staff=True))
    assert b'data-testid="edit-in-admin"' in client.get(URL).content


def test_anonymous_users_must_log_in(client):
    response = client.get(URL)
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize("rules_each", [1, 10])
def test_a_fixed_number_of_queries(client, marketer, django_assert_num_queries, rules_each):
    make_models(rules_each)
    client.force_login(marketer)
    # session, user, user + group permissions, roles (menu), models, rules, bands
    with django_assert_num_queries(8):
        assert client.get(URL).status_code == 200


def test_a_condition_rule_reads_as_words_not_a_dict(client, marketer):
    from segments.tests.test_describe import EMAIL_OPENED_30_DAYS

    model = ScoringModelFactory(name="Engagement words")
    ScoringRuleFactory(
        model=model, name="Opened lately", interaction_kind=None, condition=EMAIL_OPENED_30_DAYS
    )
    client.force_login(marketer)
    html = client.get("/scoring/").content.decode()
    assert "parent contact: email opened in the last 30 days" in html
    shown = html.split('data-testid="rule-condition"')[1].split(">", 1)[1].split("<")[0]
    assert shown == "parent contact: email opened in the last 30 days"
