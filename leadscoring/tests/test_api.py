import pytest
from django.urls import reverse

from crm_core.models import InteractionKind
from crm_core.tests.factories import InteractionFactory, LeadFactory
from leadscoring.models import ScoringModel
from leadscoring.services import scoring_model_recompute

from .factories import GradeBandFactory, PrimaryScoringModelFactory, ScoringModelFactory, ScoringRuleFactory

pytestmark = pytest.mark.django_db

URL = "/api/scoring-models/"


def valid_model(**overrides):
    body = {
        "name": "Main",
        "status": "live",
        "is_primary": True,
        "sales_ready_threshold": 100,
        "decay_mode": "window",
        "decay_days": 90,
        "rules": [
            {"name": "Opens", "interaction_kind": "email_open", "points": 2, "max_count": 10},
            {"name": "Pricing", "interaction_kind": "page_visit", "url_contains": "/pricing", "points": 10},
            {"name": "Careers", "interaction_kind": "page_visit", "url_contains": "/careers", "points": -20},
            {
                "name": "Decision maker",
                "points": 30,
                "condition": {
                    "match": "all",
                    "conditions": [
                        {
                            "related": "parent_contact",
                            "quantifier": "exists",
                            "conditions": [{"field": "job_role", "op": "eq", "value": "decision_maker"}],
                        }
                    ],
                },
            },
        ],
        "grade_bands": [
            {"grade": "A", "min_score": 150, "max_score": None},
            {"grade": "B", "min_score": 100, "max_score": 149},
            {"grade": "C", "min_score": 0, "max_score": 99},
        ],
    }
    body.update(overrides)
    return body


def test_marketer_creates_and_replaces_a_model_with_rules_and_bands(
    marketer_client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        response = marketer_client.post(URL, valid_model(), format="json")
    assert response.status_code == 201, response.data
    assert len(callbacks) == 1  # a live model is recomputed after commit
    model = ScoringModel.objects.get()
    assert model.is_primary and model.rules.count() == 4 and model.grade_bands.count() == 3
    response = marketer_client.patch(
        f"{URL}{model.pk}/",
        {"rules": [{"name": "Forms", "interaction_kind": "form_submit", "points": 40}]},
        format="json",
    )
    assert response.status_code == 200, response.data
    assert list(model.rules.values_list("name", flat=True)) == ["Forms"]
    assert model.grade_bands.count() == 3
    listing = marketer_client.get(URL)
    assert listing.status_code == 200 and listing.data["results"][0]["rules"][0]["points"] == 40


@pytest.mark.parametrize(
    "overrides, field",
    [
        (
            {
                "grade_bands": [
                    {"grade": "A", "min_score": 100, "max_score": None},
                    {"grade": "B", "min_score": 0, "max_score": 98},
                ]
            },
            "grade_bands",
        ),
        ({"decay_days": None}, "decay_days"),
        ({"status": "draft"}, "is_primary"),
        ({"rules": [{"name": "x", "points": 1}]}, "rules"),
        ({"rules": [{"name": "x", "interaction_kind": "fax", "points": 1}]}, "rules"),
        ({"rules": [{"name": "x", "interaction_kind": "email_open", "points": "many"}]}, "rules"),
        ({"rules": [{"name": "x", "interaction_kind": "email_open", "points": 1, "max_count": 0}]}, "rules"),
        ({"rules": [{"name": "x", "points": 1, "form": "f", "condition": {"conditions": []}}]}, "rules"),
        ({"bogus": 1}, "bogus"),
    ],
)
def test_invalid_models_get_400_and_nothing_is_saved(marketer_client, overrides, field):
    response = marketer_client.post(URL, valid_model(**overrides), format="json")
    assert response.status_code == 400
    assert field in response.data
    assert not ScoringModel.objects.exists()


def test_an_unsupported_condition_gets_400_with_the_node_path(marketer_client):
    rule = {
        "name": "x",
        "points": 1,
        "condition": {"conditions": [{"field": "pasword", "op": "eq", "value": "x"}]},
    }
    response = marketer_client.post(URL, valid_model(rules=[rule]), format="json")
    assert response.status_code == 400
    assert response.data["rules"][0]["condition"][0] == {
        "path": "conditions[0].field",
        "message": "unknown field 'pasword' on lead",
    }


def test_a_second_primary_model_is_refused(marketer_client):
    PrimaryScoringModelFactory(name="Old")
    response = marketer_client.post(URL, valid_model(), format="json")
    assert response.status_code == 400 and "Old" in str(response.data["is_primary"])


def test_sales_reads_models_but_cannot_change_them(sales_client, anon_client):
    model = ScoringModelFactory()
    assert sales_client.get(URL).status_code == 200
    assert sales_client.get(f"{URL}{model.pk}/").status_code == 200
    assert sales_client.post(URL, valid_model(), format="json").status_code == 403
    assert sales_client.patch(f"{URL}{model.pk}/", {"name": "x"}, format="json").status_code == 403
    assert sales_client.delete(f"{URL}{model.pk}/").status_code == 403
    assert anon_client.get(URL).status_code == 401


@pytest.mark.parametrize("client_name", ["sales_client", "marketer_client", "admin_client_api"])
def test_lead_score_explanation_is_readable_by_sales_and_marketing(request, client_name):
    client = request.getfixturevalue(client_name)
    model = PrimaryScoringModelFactory(sales_ready_threshold=1000)
    GradeBandFactory(model=model, grade="A", min_score=0)
    opens = ScoringRuleFactory(model=model, interaction_kind=InteractionKind.EMAIL_OPEN, points=4)
    ScoringModelFactory(status="draft")  # not shown
    lead = LeadFactory()
    InteractionFactory(contact=lead.parent_contact, kind=InteractionKind.EMAIL_OPEN)
    InteractionFactory(contact=lead.parent_contact, kind=InteractionKind.EMAIL_OPEN)
    scoring_model_recompute(model=model)
    response = client.get(reverse("lead-score", args=[lead.pk]))
    assert response.status_code == 200
    [entry] = response.data["scores"]
    assert (entry["model"], entry["score"], entry["grade"], entry["current_score"]) == (model.pk, 8, "A", 8)
    assert entry["explanation"] == [
        {"rule_id": opens.pk, "rule": opens.name, "points": 8, "count": 2, "not_counted": []}
    ]


def test_lead_score_unknown_lead_and_anonymous(marketer_client, anon_client):
    assert marketer_client.get(reverse("lead-score", args=[999999])).status_code == 404
    assert anon_client.get(reverse("lead-score", args=[1])).status_code == 401


def test_lead_score_needs_a_role(db):
    from rest_framework.test import APIClient

    from crm_core.tests.factories import UserFactory

    client = APIClient()
    client.force_authenticate(UserFactory())
    assert client.get(reverse("lead-score", args=[LeadFactory().pk])).status_code == 403


def test_the_leads_admin_page_shows_the_score_explanation(client, admin_user):
    from crm_core.models import InteractionKind
    from crm_core.tests.factories import InteractionFactory, LeadFactory
    from leadscoring.models import ScoringModel, ScoringRule

    model = ScoringModel.objects.create(
        name="Primary", status="live", is_primary=True, sales_ready_threshold=100
    )
    ScoringRule.objects.create(
        model=model, name="Opened an email", interaction_kind=InteractionKind.EMAIL_OPEN, points=10
    )
    lead = LeadFactory()
    InteractionFactory(contact=lead.parent_contact, kind=InteractionKind.EMAIL_OPEN)
    client.force_login(admin_user)
    page = client.get(f"/admin/crm_core/lead/{lead.pk}/change/")
    assert page.status_code == 200
    assert (
        b"Score explanation" in page.content
        and b"Opened an email: 10 point(s) from 1 match(es)" in page.content
    )
