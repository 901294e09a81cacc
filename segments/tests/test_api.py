import pytest

from crm_core.tests.factories import ContactFactory, LeadFactory
from segments.examples import CONTOSO_DECISION_MAKERS as CONTOSO
from segments.models import Segment, SegmentMembership

pytestmark = pytest.mark.django_db


@pytest.fixture
def contoso_people():
    ada = ContactFactory(job_role="decision_maker", email="ada@example.com")
    LeadFactory(parent_contact=ada, topic="Contoso Ltd Conference")
    ContactFactory(job_role="influencer")
    return ada


def test_create_refresh_members_export_and_lifecycle(marketer_client, contoso_people):
    created = marketer_client.post(
        "/api/segments/", {"name": "Contoso DMs", "definition": CONTOSO}, format="json"
    )
    assert created.status_code == 201, created.json()
    segment_id = created.json()["id"]
    assert created.json()["status"] == "draft"

    refreshed = marketer_client.post(f"/api/segments/{segment_id}/refresh/")
    assert refreshed.status_code == 200
    assert (refreshed.json()["added"], refreshed.json()["member_count"]) == (1, 1)

    members = marketer_client.get(f"/api/segments/{segment_id}/members/").json()
    assert [m["email"] for m in members["results"]] == ["ada@example.com"]
    assert set(members) >= {"next", "previous", "results"}

    export = marketer_client.get(f"/api/segments/{segment_id}/export/")
    assert export.status_code == 200 and export["Content-Type"].startswith("text/csv")
    lines = b"".join(export.streaming_content).decode().splitlines()
    assert lines[0].startswith("id,email") and "ada@example.com" in lines[1] and len(lines) == 2

    live = marketer_client.post(f"/api/segments/{segment_id}/go-live/")
    assert live.json()["status"] == "live"
    assert marketer_client.post(f"/api/segments/{segment_id}/stop/").json()["status"] == "stopped"
    detail = marketer_client.get(f"/api/segments/{segment_id}/").json()
    assert detail["member_count"] == 1 and detail["refreshed_at"]


def test_preview_counts_and_samples_without_saving(marketer_client, contoso_people):
    response = marketer_client.post("/api/segments/preview/", {"definition": CONTOSO}, format="json")
    assert response.status_code == 200
    assert response.json()["count"] == 1
    assert [c["id"] for c in response.json()["sample"]] == [contoso_people.pk]
    assert not Segment.objects.exists()


def test_bad_definition_is_a_400_with_node_paths_and_saves_nothing(marketer_client):
    bad = {
        "entity": "contact",
        "conditions": [
            {"field": "job_role", "op": "eq", "value": "decision_maker"},
            {"related": "leads", "conditions": [{"field": "pasword", "op": "eq", "value": "x"}]},
        ],
    }
    response = marketer_client.post("/api/segments/", {"name": "x", "definition": bad}, format="json")
    assert response.status_code == 400
    assert response.json() == {
        "definition": [
            {"path": "conditions[1].conditions[0].field", "message": "unknown field 'pasword' on lead"}
        ]
    }
    assert not Segment.objects.exists()
    preview = marketer_client.post("/api/segments/preview/", {"definition": bad}, format="json")
    assert preview.status_code == 400 and preview.json()["definition"][0]["path"].endswith("field")
    malformed = marketer_client.post("/api/segments/", "{not json", content_type="application/json")
    assert malformed.status_code == 400
    unknown = marketer_client.post(
        "/api/segments/", {"name": "x", "definition": CONTOSO, "x": 1}, format="json"
    )
    assert unknown.status_code == 400 and "x" in unknown.json()


def test_sales_reads_but_cannot_change_segments(sales_client, marketer_client, contoso_people):
    segment_id = marketer_client.post(
        "/api/segments/", {"name": "s", "definition": CONTOSO}, format="json"
    ).json()["id"]
    assert sales_client.get("/api/segments/").status_code == 200
    assert sales_client.get(f"/api/segments/{segment_id}/members/").status_code == 200
    assert (
        sales_client.post("/api/segments/", {"name": "n", "definition": CONTOSO}, format="json").status_code
        == 403
    )
    assert sales_client.patch(f"/api/segments/{segment_id}/", {"name": "n"}, format="json").status_code == 403
    assert sales_client.post(f"/api/segments/{segment_id}/refresh/").status_code == 403
    assert sales_client.post(f"/api/segments/{segment_id}/go-live/").status_code == 403
    assert sales_client.delete(f"/api/segments/{segment_id}/").status_code == 403
    assert not SegmentMembership.objects.exists()


def test_anonymous_gets_401(anon_client):
    assert anon_client.get("/api/segments/").status_code == 401
    assert (
        anon_client.post("/api/segments/preview/", {"definition": CONTOSO}, format="json").status_code == 401
    )


def test_registry_lists_fields_operators_and_relationships(marketer_client):
    registry = marketer_client.get("/api/segments/registry/").json()
    contact = registry["entities"]["contact"]
    assert {"name": "leads", "label": "Lead (parent contact)", "target": "lead", "to_one": False} in contact[
        "relationships"
    ]
    job_role = next(f for f in contact["fields"] if f["name"] == "job_role")
    assert (
        job_role["type"] == "choice"
        and {"value": "decision_maker", "label": "Decision maker"} in job_role["choices"]
    )
    assert "in_last_days" in registry["operators"]["datetime"]
    assert not any(f["name"] in ("password", "owner") for f in contact["fields"])
