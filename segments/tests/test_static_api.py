"""Static segments through the API: made without a definition, members added and removed by id or
email or from a CSV, all or nothing with every problem named, idempotent, and announced as every
membership change is (live segments that reference the list follow)."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from crm_core.tests.factories import ContactFactory
from segments.models import Segment, SegmentKind, SegmentMembershipEvent

from .support import drain, members

pytestmark = pytest.mark.django_db


@pytest.fixture
def vips(marketer_client):
    made = marketer_client.post("/api/segments/", {"name": "VIPs", "kind": "static"}, format="json")
    assert made.status_code == 201, made.json()
    assert made.json()["definition"] == {} and made.json()["kind"] == "static"
    return Segment.objects.get(pk=made.json()["id"])


def events(segment) -> list[tuple[int, str]]:
    return sorted(SegmentMembershipEvent.objects.filter(segment=segment).values_list("contact_id", "change"))


@pytest.fixture(params=["postgres_sql", "portable"])
def either_path(request):
    """Both implementations of a membership change (members_sql.py, members_portable.py)."""
    if request.param == "portable":
        request.getfixturevalue("portable_path")
    return request.param


def test_add_and_remove_by_ids_and_emails_is_idempotent_and_logged(marketer_client, vips, either_path):
    ada, bob = ContactFactory(email="ada@example.com"), ContactFactory(email="bob@example.com")
    url = f"/api/segments/{vips.pk}/members/"
    added = marketer_client.post(
        url, {"contact_ids": [ada.pk], "emails": [" BOB@example.com"]}, format="json"
    )
    assert added.status_code == 200, added.json()
    assert added.json() == {"added": 2, "member_count": 2}
    again = marketer_client.post(url, {"contact_ids": [ada.pk, bob.pk]}, format="json")
    assert again.json() == {"added": 0, "member_count": 2}
    assert events(vips) == sorted([(ada.pk, "joined"), (bob.pk, "joined")])  # nobody joined twice
    listed = marketer_client.get(url).json()["results"]
    assert {m["email"] for m in listed} == {"ada@example.com", "bob@example.com"}

    removed = marketer_client.delete(url, {"emails": ["ada@example.com"]}, format="json")
    assert removed.json() == {"removed": 1, "member_count": 1}
    assert marketer_client.delete(url, {"contact_ids": [ada.pk]}, format="json").json()["removed"] == 0
    assert members(vips) == {bob.pk}
    assert events(vips) == sorted([(ada.pk, "joined"), (bob.pk, "joined"), (ada.pk, "left")])


def test_unknown_contacts_and_bad_emails_are_named_and_nothing_is_saved(marketer_client, vips):
    ada = ContactFactory(email="ada@example.com")
    url = f"/api/segments/{vips.pk}/members/"
    refused = marketer_client.post(
        url,
        {
            "contact_ids": [ada.pk, 999_999],
            "emails": ["ada@example.com", "not-an-email", "nobody@example.com"],
        },
        format="json",
    )
    assert refused.status_code == 400
    body = refused.json()
    assert body["contact_ids"] == ["No contact has the id 999999."]
    assert body["emails"] == {
        "1": ["'not-an-email' is not a valid email address."],
        "2": ["No contact has the email 'nobody@example.com'."],
    }
    assert members(vips) == set() and events(vips) == []
    for bad in ({}, {"contact_ids": []}, {"contact_ids": ["x"]}, {"emails": "a@b.c"}, {"shoe_size": 1}):
        response = marketer_client.post(url, bad, format="json")
        assert response.status_code == 400, (bad, response.content)
    assert (
        marketer_client.post(
            "/api/segments/999999/members/", {"contact_ids": [ada.pk]}, format="json"
        ).status_code
        == 404
    )


def test_a_dynamic_segments_members_are_not_changed_by_hand(marketer_client):
    from segments.examples import CONTOSO_DECISION_MAKERS

    ada = ContactFactory()
    dynamic = marketer_client.post(
        "/api/segments/", {"name": "d", "definition": CONTOSO_DECISION_MAKERS}, format="json"
    )
    response = marketer_client.post(
        f"/api/segments/{dynamic.json()['id']}/members/", {"contact_ids": [ada.pk]}, format="json"
    )
    assert response.status_code == 400 and "dynamic" in response.json()["non_field_errors"][0]
    assert marketer_client.post("/api/segments/", {"name": "no definition"}, format="json").json() == {
        "definition": ["This field is required."]
    }
    changed = marketer_client.patch(
        f"/api/segments/{dynamic.json()['id']}/", {"kind": "static"}, format="json"
    )
    assert changed.status_code == 400 and "kind" in changed.json()


def csv_file(text: str, name: str = "people.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, text.encode(), content_type="text/csv")


def test_csv_upload_adds_everyone_or_names_each_bad_row(marketer_client, vips):
    ada, bob = ContactFactory(email="ada@example.com"), ContactFactory(email="bob@example.com")
    url = f"/api/segments/{vips.pk}/members/csv/"
    refused = marketer_client.post(
        url, {"file": csv_file("name,Email\nAda,ada@example.com\nX,oops\n,\nNo,nobody@example.com\n")}
    )
    assert refused.status_code == 400
    assert refused.json() == {
        "file": ["row 3: 'oops' is not a valid email address.",
                 "row 5: No contact has the email 'nobody@example.com'."]
    }  # fmt: skip
    assert members(vips) == set()

    added = marketer_client.post(url, {"file": csv_file("ada@example.com\r\nBOB@example.com\r\n\r\n")})
    assert added.status_code == 200, added.json()
    assert added.json() == {"added": 2, "member_count": 2} and members(vips) == {ada.pk, bob.pk}
    assert marketer_client.post(url, {"file": csv_file("email\nada@example.com\n")}).json()["added"] == 0

    for bad in ({}, {"file": csv_file("")}, {"file": SimpleUploadedFile("x.csv", b"\xff\xfe\x00a")}):
        response = marketer_client.post(url, bad)
        assert response.status_code == 400 and "file" in response.json(), response.content


def test_sales_may_read_but_not_change_static_members(sales_client, marketer_client, vips):
    ada = ContactFactory()
    url = f"/api/segments/{vips.pk}/members/"
    assert sales_client.get(url).status_code == 200
    assert sales_client.post(url, {"contact_ids": [ada.pk]}, format="json").status_code == 403
    assert sales_client.delete(url, {"contact_ids": [ada.pk]}, format="json").status_code == 403
    assert sales_client.post(f"{url}csv/", {"file": csv_file(ada.email or "a@b.c")}).status_code == 403
    assert members(vips) == set()


def test_duplicate_copies_a_static_segments_members(marketer_client, vips):
    ada = ContactFactory()
    marketer_client.post(f"/api/segments/{vips.pk}/members/", {"contact_ids": [ada.pk]}, format="json")
    copy = marketer_client.post(f"/api/segments/{vips.pk}/duplicate/")
    assert copy.status_code == 201
    assert (copy.json()["name"], copy.json()["kind"], copy.json()["member_count"]) == (
        "Copy of VIPs",
        "static",
        1,
    )
    assert members(copy.json()["id"]) == {ada.pk}


@pytest.mark.django_db(transaction=True)
def test_live_segments_that_reference_a_static_list_follow_an_api_change(freshness, marketer_client):
    from segments.services import segment_create, segment_go_live

    ada = ContactFactory(email="ada@example.com")
    vips = Segment.objects.create(name="VIPs", kind=SegmentKind.STATIC)
    follower = segment_go_live(
        segment=segment_create(
            name="VIP followers",
            definition={"entity": "contact", "match": "all", "conditions": [{"in_segment": vips.pk}]},
        )
    )
    drain()
    assert members(follower) == set()
    marketer_client.post(f"/api/segments/{vips.pk}/members/", {"emails": ["ada@example.com"]}, format="json")
    drain()
    assert members(follower) == {ada.pk}
    marketer_client.delete(f"/api/segments/{vips.pk}/members/", {"contact_ids": [ada.pk]}, format="json")
    drain()
    assert members(follower) == set()


def test_a_change_takes_the_same_statements_for_3_or_300_contacts(marketer_client, vips):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from crm_core.models import Contact

    ContactFactory.create_batch(300)
    emails = list(Contact.objects.order_by("id").values_list("email", flat=True))
    counts = []
    for chunk in (emails[:3], emails[3:303]):
        with CaptureQueriesContext(connection) as queries:
            response = marketer_client.post(
                f"/api/segments/{vips.pk}/members/", {"emails": chunk}, format="json"
            )
        assert response.status_code == 200 and response.json()["added"] == len(chunk)
        counts.append(len(queries))
    assert counts[0] == counts[1]  # set-based: no statement per contact
