"""The duplicates list (scan now, not a duplicate), the merge endpoint's answers (4xx included) and the
merged-away id's pointer."""

import pytest

from crm_core.models import AuditLog, Contact
from crm_core.services import duplicates_scan_run
from crm_core.tests.factories import AccountFactory, ContactFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def pair():
    acme = AccountFactory()
    keep = ContactFactory(first_name="Ann", last_name="Lee", parent_account=acme, phone="")
    gone = ContactFactory(first_name="ann", last_name="LEE", parent_account=acme, phone="555")
    return keep, gone


def test_duplicates_lists_the_scanned_pairs_with_a_count_and_pages(marketer_client, pair):
    keep, gone = pair
    ContactFactory.create_batch(3)
    before = marketer_client.get("/api/contacts/duplicates/").json()
    assert (before["count"], before["results"], before["last_scan"], before["scanning"]) == (
        0,
        [],
        None,
        None,
    )
    duplicates_scan_run()
    body = marketer_client.get("/api/contacts/duplicates/").json()
    assert body["next"] is None and body["previous"] is None and body["count"] == 1
    assert body["last_scan"]["state"] == "done" and body["last_scan"]["pairs"] == 1
    [row] = body["results"]
    assert (row["a"]["id"], row["b"]["id"], row["reasons"]) == (keep.pk, gone.pk, ["same_name_account"])
    mine = marketer_client.get(f"/api/contacts/duplicates/?contact={gone.pk}").json()
    assert [r["b"]["id"] for r in mine["results"]] == [gone.pk]
    bad = [("page_size=0", 400), ("page_size=x", 400), ("cursor=1-2", 404), ("contact=-1", 400)]
    for query, status in bad:
        assert marketer_client.get(f"/api/contacts/duplicates/?{query}").status_code == status, query


def test_duplicates_pages_by_cursor(marketer_client):
    acme = AccountFactory()
    for n in range(5):  # five pairs
        ContactFactory.create_batch(2, first_name=f"P{n}", last_name="Same", parent_account=acme)
    duplicates_scan_run()
    seen, url = [], "/api/contacts/duplicates/?page_size=2"
    while url:
        body = marketer_client.get(url).json()
        assert body["count"] == 5 and len(body["results"]) == (2 if body["next"] else 1)
        seen += [(r["a"]["id"], r["b"]["id"]) for r in body["results"]]
        url = body["next"]
    assert len(seen) == 5 and seen == sorted(seen)


def test_scan_now_and_not_a_duplicate(
    marketer_client, sales_client, pair, django_capture_on_commit_callbacks
):
    keep, gone = pair
    with django_capture_on_commit_callbacks() as queued:
        answer = marketer_client.post("/api/contacts/duplicates/scan/")
    assert answer.status_code == 202 and answer.json()["state"] == "queued" and len(queued) == 1
    again = marketer_client.post("/api/contacts/duplicates/scan/")
    assert again.status_code == 202 and again.json()["id"] == answer.json()["id"]
    assert marketer_client.get("/api/contacts/duplicates/").json()["scanning"]["id"] == answer.json()["id"]
    duplicates_scan_run(scan_id=answer.json()["id"])
    assert marketer_client.get("/api/contacts/duplicates/").json()["count"] == 1
    url = "/api/contacts/duplicates/dismiss/"
    cases = [
        ({"a": keep.pk, "b": keep.pk}, 400, "itself"),
        ({"a": keep.pk, "b": 10**9}, 400, "There is no contact"),
        ({"a": keep.pk}, 400, "required"),
        ({"a": "x", "b": gone.pk}, 400, "valid integer"),
        ({"a": keep.pk, "b": gone.pk, "c": 1}, 400, "c"),
    ]
    for data, status, text in cases:
        refused = marketer_client.post(url, data, format="json")
        assert refused.status_code == status and text in refused.content.decode(), (data, refused.content)
    assert sales_client.post(url, {"a": gone.pk, "b": keep.pk}, format="json").status_code == 403
    assert sales_client.post("/api/contacts/duplicates/scan/").status_code == 403
    done = marketer_client.post(url, {"a": gone.pk, "b": keep.pk}, format="json")
    assert done.status_code == 200 and done.json()["a"] == keep.pk and done.json()["dismissed"]
    body = marketer_client.get("/api/contacts/duplicates/").json()
    assert body["count"] == 0 and body["results"] == []
    duplicates_scan_run()
    assert marketer_client.get("/api/contacts/duplicates/").json()["count"] == 0


def test_merge_moves_the_other_and_its_id_points_at_the_survivor(marketer_client, marketer, pair):
    keep, gone = pair
    response = marketer_client.post(f"/api/contacts/{keep.pk}/merge/", {"other": gone.pk}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["survivor"]["id"], body["merged"], body["fields_filled"]) == (keep.pk, gone.pk, ["phone"])
    assert not Contact.objects.filter(pk=gone.pk).exists()
    assert AuditLog.objects.filter(action="contact.merge", actor=marketer, object_id=str(keep.pk)).exists()
    for method in ("get", "patch"):  # (a marketer may not delete contacts: 403 before the lookup)
        answer = getattr(marketer_client, method)(f"/api/contacts/{gone.pk}/")
        assert answer.status_code == 404
        assert answer.json()["merged_into"] == keep.pk
        assert f"merged into contact {keep.pk}" in answer.json()["detail"]
        assert answer.json()["survivor_url"].endswith(f"/api/contacts/{keep.pk}/")
    assert marketer_client.get(f"/api/contacts/{keep.pk}/").status_code == 200


def test_merge_refusals_are_4xx_and_change_nothing(marketer_client, sales_client, anon_client, pair):
    keep, gone = pair
    url = f"/api/contacts/{keep.pk}/merge/"
    cases = [
        ({"other": keep.pk}, 400, "itself"),
        ({"other": 10**9}, 400, "There is no contact"),
        ({"other": "x"}, 400, "valid integer"),
        ({}, 400, "required"),
        ({"other": gone.pk, "extra": 1}, 400, "extra"),
    ]
    for data, status, text in cases:
        answer = marketer_client.post(url, data, format="json")
        assert answer.status_code == status and text in answer.content.decode(), (data, answer.content)
    unknown = marketer_client.post("/api/contacts/999999999/merge/", {"other": gone.pk}, format="json")
    assert unknown.status_code == 404
    denied = sales_client.post(url, {"other": gone.pk}, format="json")
    assert denied.status_code == 403 and "marketing and admin" in denied.json()["detail"]
    assert sales_client.get("/api/contacts/duplicates/").status_code == 403
    assert anon_client.post(url, {"other": gone.pk}, format="json").status_code == 401
    assert Contact.objects.filter(pk__in=[keep.pk, gone.pk]).count() == 2
    assert marketer_client.post(url, {"other": gone.pk}, format="json").status_code == 200
    again = marketer_client.post(url, {"other": gone.pk}, format="json")
    assert again.status_code == 400 and f"already merged into contact {keep.pk}" in again.content.decode()
    into_gone = marketer_client.post(f"/api/contacts/{gone.pk}/merge/", {"other": keep.pk}, format="json")
    assert into_gone.status_code == 404 and into_gone.json()["merged_into"] == keep.pk
