import pytest

from .factories import SegmentMemberFactory, send_email_step

pytestmark = pytest.mark.django_db

PAYLOAD = {
    "name": "Welcome",
    "entry_type": "segment",
    "entry_segment_id": 1,
    "min_consent_level": 3,
    "steps": [
        send_email_step(),
        {"key": "pause", "kind": "wait_duration", "config": {"days": 3}},
        {
            "key": "opened",
            "kind": "if_interaction",
            "config": {"kind": "email_open", "email_step": "welcome"},
            "next": "done",
            "else": "done",
        },
        {"key": "done", "kind": "end"},
    ],
}


def test_marketer_creates_reads_and_runs_a_journey(marketer_client):
    response = marketer_client.post("/api/journeys/", PAYLOAD, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "draft"
    assert [s["key"] for s in body["steps"]] == ["welcome", "pause", "opened", "done"]
    assert body["steps"][0]["next"] == "pause" and body["steps"][2]["else"] == "done"
    journey_id = body["id"]
    assert marketer_client.post(f"/api/journeys/{journey_id}/go-live/").json()["status"] == "live"
    response = marketer_client.patch(f"/api/journeys/{journey_id}/", {"steps": []}, format="json")
    assert response.status_code == 400 and "steps" in response.json()
    assert marketer_client.post(f"/api/journeys/{journey_id}/pause/").json()["status"] == "paused"
    assert marketer_client.post(f"/api/journeys/{journey_id}/go-live/").json()["status"] == "live"
    assert marketer_client.post(f"/api/journeys/{journey_id}/stop/").json()["status"] == "stopped"
    assert marketer_client.post(f"/api/journeys/{journey_id}/go-live/").status_code == 400


def test_stats_endpoint(marketer_client, sales_client):
    from .. import services

    SegmentMemberFactory(segment_id=1)
    journey_id = marketer_client.post("/api/journeys/", PAYLOAD, format="json").json()["id"]
    marketer_client.post(f"/api/journeys/{journey_id}/go-live/")
    services.journeys_tick(inline=True)
    stats = sales_client.get(f"/api/journeys/{journey_id}/stats/").json()
    assert (stats["entered"], stats["waiting"], stats["sent"]) == (1, 1, 1)
    assert [s["key"] for s in stats["steps"]][:2] == ["welcome", "pause"]
    assert stats["steps"][1]["waiting"] == 1


@pytest.mark.parametrize(
    ("change", "path"),
    [
        ({"steps": [{"key": "a", "kind": "teleport"}]}, "steps[0].kind"),
        ({"steps": [{"key": "a", "kind": "end", "next": "nowhere"}]}, "steps[0].next"),
        ({"steps": [{"key": "a", "kind": "split", "config": {"percent": 120}}]}, "steps[0].config.percent"),
        (
            {"steps": [{"key": "a", "kind": "send_email", "config": {"subject": "x", "html": "{% x %}"}}]},
            "steps[0].config.html",
        ),
        (
            {"steps": [{"key": "a", "kind": "update_field", "config": {"field": "email", "value": "x"}}]},
            "steps[0].config.field",
        ),
        (  # a journey may withdraw consent, never give it
            {
                "steps": [
                    {
                        "key": "a",
                        "kind": "update_field",
                        "config": {"field": "do_not_bulk_email", "value": False},
                    }
                ]
            },
            "steps[0].config.value",
        ),
        (
            {
                "steps": [
                    {"key": "a", "kind": "update_field", "config": {"field": "track_email", "value": "maybe"}}
                ]
            },
            "steps[0].config.value",
        ),
        (
            {"steps": [{"key": "a", "kind": "if_condition", "config": {"condition": {"field": "pasword"}}}]},
            "steps[0].config.condition",
        ),
        ({"steps": [{"key": "a", "kind": "end"}, {"key": "a", "kind": "end"}]}, "steps[1].key"),
        (
            {"steps": [{"key": "a", "kind": "segment_add", "config": {"segment": 987654}}]},
            "steps[0].config.segment",
        ),
        ({"entry_segment_id": None}, "entry_segment_id"),
        ({"entry_type": "trigger", "trigger_kind": "form_submit"}, "trigger_config"),
        ({"surprise": 1}, "surprise"),
        ({"steps": "nope"}, "steps"),
    ],
)
def test_bad_definitions_get_400_naming_the_problem(marketer_client, change, path):
    response = marketer_client.post("/api/journeys/", {**PAYLOAD, **change}, format="json")
    assert response.status_code == 400
    assert path in response.json()


def test_roles(sales_client, anon_client, marketer_client):
    assert anon_client.get("/api/journeys/").status_code == 401
    assert sales_client.post("/api/journeys/", PAYLOAD, format="json").status_code == 403
    journey_id = marketer_client.post("/api/journeys/", PAYLOAD, format="json").json()["id"]
    assert sales_client.get(f"/api/journeys/{journey_id}/").status_code == 200
    assert sales_client.post(f"/api/journeys/{journey_id}/go-live/").status_code == 403
    assert sales_client.patch(f"/api/journeys/{journey_id}/", {"name": "x"}, format="json").status_code == 403
    assert (
        marketer_client.post("/api/journeys/", "not json", content_type="application/json").status_code == 400
    )
    assert marketer_client.get("/api/journeys/999999/stats/").status_code == 404
