import pytest

from segments.models import Segment

pytestmark = pytest.mark.django_db


def test_pages_need_login(client):
    for url in ("/segments/", "/segments/new/"):
        response = client.get(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_marketer_sees_the_list_and_the_builder(client, marketer):
    segment = Segment.objects.create(name="Contoso decision makers", member_count=12)
    client.force_login(marketer)
    listing = client.get("/segments/")
    assert listing.status_code == 200
    assert b"Contoso decision makers" in listing.content and b"12" in listing.content
    assert b'data-testid="new-segment"' in listing.content
    builder = client.get(f"/segments/{segment.pk}/")
    assert builder.status_code == 200 and b'data-can-edit="true"' in builder.content
    assert client.get("/segments/new/").status_code == 200


def test_sales_reads_segments_but_cannot_open_a_new_one(client, sales_rep):
    segment = Segment.objects.create(name="s")
    client.force_login(sales_rep)
    assert b'data-testid="new-segment"' not in client.get("/segments/").content
    assert b'data-can-edit="false"' in client.get(f"/segments/{segment.pk}/").content
    assert client.get("/segments/new/").status_code == 403
    assert client.get("/segments/999999/").status_code == 404


def test_no_json_textarea_on_the_segment_pages_and_the_admin_only_shows_the_definition(client, admin_user):
    from segments.examples import CONTOSO_DECISION_MAKERS

    segment = Segment.objects.create(name="Contoso", definition=CONTOSO_DECISION_MAKERS)
    client.force_login(admin_user)
    for url in ("/segments/", "/segments/new/", "/segments/new/?kind=static", f"/segments/{segment.pk}/"):
        page = client.get(url)
        assert page.status_code == 200 and b"<textarea" not in page.content, url
    change = client.get(f"/admin/segments/segment/{segment.pk}/change/")
    assert change.status_code == 200
    assert b'name="definition"' not in change.content and b"Open in the segment builder" in change.content
    assert client.get("/admin/segments/segment/add/").status_code == 403
