"""The imports API: upload, mapping with preview, run, status and report; every bad input a 4xx."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from crm_core.models import Contact, ImportJob
from crm_core.services.import_run import import_job_run

pytestmark = pytest.mark.django_db
URL = "/api/imports/"


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


def upload(text="Email,First name\nann@example.com,Ann\nbad-address,Bob\n", name="people.csv"):
    return SimpleUploadedFile(name, text.encode(), content_type="text/csv")


def test_upload_map_preview_run_and_report(marketer_client, django_capture_on_commit_callbacks):
    response = marketer_client.post(URL, {"entity": "contact", "file": upload()}, format="multipart")
    assert response.status_code == 201, response.data
    job_id = response.data["id"]
    assert response.data["mapping"] == {"Email": "email", "First name": "first_name"}
    assert "consent_level" in [t["name"] for t in response.data["targets"]]

    response = marketer_client.post(
        f"{URL}{job_id}/mapping/", {"mapping": {"Email": "email", "First name": "first_name"}}, format="json"
    )
    assert response.status_code == 200, response.data
    assert response.data["preview"][0]["errors"] == []
    assert response.data["preview"][1]["errors"] == [
        {"column": "Email", "field": "email", "message": "Enter a valid email address."}
    ]
    with django_capture_on_commit_callbacks(execute=False) as queued:
        response = marketer_client.post(f"{URL}{job_id}/run/")
    assert response.status_code == 202 and response.data["status"] == "queued"
    assert len(queued) == 1  # the task, queued after commit
    import_job_run(job_id=job_id)

    response = marketer_client.get(f"{URL}{job_id}/")
    assert response.data["status"] == "failed" and response.data["progress"]["percent"] == 100
    assert Contact.objects.count() == 0
    report = marketer_client.get(response.data["report_url"])
    assert report.status_code == 200 and b"2,failed,,Email,email" in b"".join(report.streaming_content)


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"entity": "planet", "file": "x"}, "entity"),
        ({"entity": "contact"}, "file"),
        ({"entity": "contact", "file": "f", "color": "red"}, "color"),
    ],
)
def test_bad_uploads_are_400_naming_the_field(marketer_client, data, field):
    if data.get("file") == "f":
        data["file"] = upload()
    response = marketer_client.post(URL, data, format="multipart")
    assert response.status_code == 400 and field in response.data


@pytest.mark.parametrize(
    ("text", "name", "message"),
    [
        ("a,b\n", "people.pdf", "Upload a .csv or .xlsx file"),
        ("a,a\n1,2\n", "people.csv", "appears twice"),
        (",,\n", "people.csv", "no header"),
        ("not a workbook", "people.xlsx", "cannot be read as XLSX"),
    ],
)
def test_unreadable_files_are_400(marketer_client, text, name, message):
    response = marketer_client.post(
        URL, {"entity": "contact", "file": upload(text, name)}, format="multipart"
    )
    assert response.status_code == 400 and message in str(response.data["file"])


def test_latin1_csv_is_400(marketer_client):
    file = SimpleUploadedFile("p.csv", "Name\nJosé\n".encode("latin-1"))
    response = marketer_client.post(URL, {"entity": "account", "file": file}, format="multipart")
    assert response.status_code == 400 and "UTF-8" in str(response.data["file"])


def test_bad_mappings_and_runs_are_400(marketer_client):
    job_id = marketer_client.post(URL, {"entity": "contact", "file": upload()}, format="multipart").data["id"]
    for body, field in [
        ({"mapping": {"Email": "shoe_size"}}, "mapping"),
        ({"mapping": {"Nope": "email"}}, "mapping"),
        ({"mapping": "email"}, "mapping"),
        ({"mapping": {"Email": "email"}, "on_known_email": "merge"}, "on_known_email"),
        ({"mapping": {"Email": "email"}, "extra": 1}, "extra"),
    ]:
        response = marketer_client.post(f"{URL}{job_id}/mapping/", body, format="json")
        assert response.status_code == 400 and field in response.data, (body, response.data)
    response = marketer_client.post(f"{URL}{job_id}/run/")
    assert response.status_code == 400 and "only a mapped import can run" in str(response.data)
    assert marketer_client.get(f"{URL}{job_id}/report/").status_code == 404
    assert marketer_client.get(f"{URL}999999/").status_code == 404


def test_only_marketers_and_admins_import(sales_client, anon_client, admin_client_api):
    assert (
        anon_client.post(URL, {"entity": "contact", "file": upload()}, format="multipart").status_code == 401
    )
    response = sales_client.post(URL, {"entity": "contact", "file": upload()}, format="multipart")
    assert response.status_code == 403 and "marketing and admin" in str(response.data)
    assert sales_client.get(URL).status_code == 403
    assert (
        admin_client_api.post(URL, {"entity": "account", "file": upload()}, format="multipart").status_code
        == 201
    )
    assert ImportJob.objects.count() == 1
