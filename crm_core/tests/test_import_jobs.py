"""Imports with column mapping: the services behind the API, the pages and the task, on the
PostgreSQL statements and on the portable path."""

import csv
import io

import pytest
import tablib
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile

from crm_core.models import (
    Account,
    ConsentChange,
    Contact,
    ContactOrigin,
    ImportJob,
    ImportMapping,
    ImportStatus,
    Lead,
)
from crm_core.services.import_jobs import (
    import_job_create,
    import_job_map,
    import_job_progress,
    import_job_start,
)
from crm_core.services.import_run import import_job_run
from crm_core.tests.factories import AccountFactory, ContactFactory, MarketerFactory
from crm_core.tests.notices import notices_sent

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


@pytest.fixture(params=["postgres", "portable"])
def sql_path(request):
    if request.param == "portable":
        request.getfixturevalue("portable_path")
    return request.param


def csv_upload(header, rows, name="people.csv"):
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    return SimpleUploadedFile(name, buffer.getvalue().encode(), content_type="text/csv")


def run(job, actor, mapping=None, on_known_email="update"):
    import_job_map(job=job, actor=actor, mapping=mapping or job.mapping, on_known_email=on_known_email)
    import_job_start(job=job, actor=actor)
    result = import_job_run(job_id=job.pk)
    job.refresh_from_db()
    return result


def report_rows(job):
    job.report.open("rb")
    try:
        return list(csv.DictReader(io.StringIO(job.report.read().decode())))
    finally:
        job.report.close()


def test_upload_suggests_a_mapping_from_the_header_and_remembers_the_chosen_one():
    mia = MarketerFactory()
    header = ["E-mail", "First name", "Surname", "Notes"]
    job = import_job_create(
        actor=mia, entity="contact", upload=csv_upload(header, [["a@x.org", "A", "B", "n"]])
    )
    assert job.mapping == {"E-mail": "email", "First name": "first_name", "Surname": "", "Notes": ""}
    assert job.file.read() and job.status == ImportStatus.UPLOADED

    preview = import_job_map(
        job=job, actor=mia, mapping={**job.mapping, "Surname": "last_name"}, on_known_email="skip"
    )
    assert [(row.row, row.cells, row.errors) for row in preview] == [(1, ["a@x.org", "A", "B", "n"], [])]
    again = import_job_create(actor=mia, entity="contact", upload=csv_upload(header, []))
    assert again.mapping["Surname"] == "last_name" and again.on_known_email == "skip"
    assert ImportMapping.objects.filter(user=mia).count() == 1


def test_a_bad_mapping_is_refused_naming_the_column():
    mia = MarketerFactory()
    job = import_job_create(actor=mia, entity="account", upload=csv_upload(["Name", "Web"], [["A", "x"]]))
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as caught:
        import_job_map(
            job=job, actor=mia, mapping={"Name": "website", "Web": "website"}, on_known_email="update"
        )
    messages = caught.value.message_dict["mapping"]
    assert any("'Name' and 'Web' are both mapped to 'website'" in m for m in messages)
    assert any("'name'" in m for m in messages)  # the required field


def test_contacts_are_created_and_known_emails_updated_with_consent_recorded(
    sql_path, django_capture_on_commit_callbacks
):
    mia = MarketerFactory()
    known = ContactFactory(email="known@example.com", first_name="Old", consent_level=0, do_not_email=False)
    account = AccountFactory()
    header = ["email", "first_name", "consent_level", "do_not_email", "parent_account"]
    rows = [
        ["New@Example.com", "Ann", "marketing", "no", str(account.pk)],
        ["KNOWN@example.com", "Kim", "3", "yes", ""],
        ["", "Nomail", "", "", ""],
    ]
    job = import_job_create(actor=mia, entity="contact", upload=csv_upload(header, rows))
    with notices_sent() as sent, django_capture_on_commit_callbacks(execute=True):
        result = run(job, mia)

    assert result["status"] == "done", job.error
    assert (job.created_count, job.updated_count, job.skipped_count) == (2, 1, 0)
    new = Contact.objects.get(email="new@example.com")
    assert (new.first_name, new.consent_level, new.parent_account_id, new.origin) == (
        "Ann",
        3,
        account.pk,
        ContactOrigin.IMPORT,
    )
    assert new.created_by_id == mia.pk
    known.refresh_from_db()
    assert (known.first_name, known.consent_level, known.do_not_email) == ("Kim", 3, True)
    trail = set(ConsentChange.objects.values_list("contact_id", "field", "old_value", "new_value", "source"))
    assert trail == {
        (new.pk, "consent_level", "0", "3", "import"),
        (known.pk, "consent_level", "0", "3", "import"),
        (known.pk, "do_not_email", "False", "True", "import"),
    }
    nomail = Contact.objects.get(first_name="Nomail")
    created = next(n for n in sent if n.entity == "contact" and n.action == "created")
    updated = next(n for n in sent if n.entity == "contact" and n.action == "updated")
    assert created.ids == {new.pk, nomail.pk} and updated.ids == {known.pk}
    assert [(r["row"], r["outcome"], r["id"]) for r in report_rows(job)] == [
        ("1", "created", str(new.pk)),
        ("2", "updated", str(known.pk)),
        ("3", "created", str(nomail.pk)),
    ]


def test_known_emails_are_skipped_when_asked(sql_path):
    mia = MarketerFactory()
    known = ContactFactory(email="known@example.com", first_name="Old")
    job = import_job_create(
        actor=mia,
        entity="contact",
        upload=csv_upload(["email", "first_name"], [["known@example.com", "New"]]),
    )
    run(job, mia, on_known_email="skip")
    known.refresh_from_db()
    assert known.first_name == "Old" and (job.created_count, job.skipped_count) == (0, 1)
    assert report_rows(job)[0]["outcome"] == "skipped"


def test_a_bad_row_5000_saves_nothing_of_the_file_and_the_report_names_it(sql_path):
    mia = MarketerFactory()
    rows = [[f"person{i}@example.com", f"P{i}", "decision_maker"] for i in range(1, 6001)]
    rows[4999][2] = "astronaut"  # row 5,000
    job = import_job_create(
        actor=mia, entity="contact", upload=csv_upload(["email", "first_name", "job_role"], rows)
    )
    result = run(job, mia)

    assert result["status"] == "failed"
    assert Contact.objects.count() == 0 and ConsentChange.objects.count() == 0
    assert job.failed_count == 1 and "row 5,000" in job.error and "job_role" in job.error
    assert report_rows(job) == [
        {
            "row": "5000",
            "outcome": "failed",
            "id": "",
            "column": "job_role",
            "field": "job_role",
            "message": "'astronaut' is not one of the choices.",
        }
    ]


def test_a_failure_while_writing_leaves_nothing_behind(sql_path, monkeypatch):
    mia = MarketerFactory()
    job = import_job_create(actor=mia, entity="account", upload=csv_upload(["name"], [["A"], ["B"]]))
    from crm_core.services import import_run

    real = import_run.progress_set

    def fail_before_commit(job_id, phase, done, total):
        if phase == "committing":  # the rows are written, the transaction not yet committed
            assert Account.objects.count() == 2
            raise RuntimeError("worker lost its disk")
        real(job_id, phase, done, total)

    monkeypatch.setattr(import_run, "progress_set", fail_before_commit)
    assert run(job, mia)["status"] == "failed"
    assert Account.objects.count() == 0
    assert job.error == "The import failed and saved nothing: worker lost its disk"


def test_running_twice_creates_no_duplicates(sql_path):
    mia = MarketerFactory()
    job = import_job_create(
        actor=mia, entity="contact", upload=csv_upload(["email"], [["a@example.com"], ["b@example.com"]])
    )
    run(job, mia)
    assert import_job_run(job_id=job.pk) == {"skipped": "not queued"}
    # A retry after a crash: the job still says running (with its file), the rows are already there.
    job.file.save("people.csv", ContentFile(b"email\na@example.com\nb@example.com\n"), save=False)
    ImportJob.objects.filter(pk=job.pk).update(status=ImportStatus.RUNNING, file=job.file.name)
    assert import_job_run(job_id=job.pk)["status"] == "done"
    assert Contact.objects.count() == 2
    job.refresh_from_db()
    assert (job.created_count, job.skipped_count) == (0, 2)


def test_xlsx_accounts_and_leads_with_the_orphan_workflow(sql_path):
    mia = MarketerFactory()
    book = tablib.Dataset(headers=["Company", "Employees"])
    book.append(["Contoso", 250])
    book.append(["Fabrikam", 12.0])
    upload = SimpleUploadedFile("companies.xlsx", book.export("xlsx"))
    job = import_job_create(actor=mia, entity="account", upload=upload)
    run(job, mia, mapping={"Company": "name", "Employees": "employees"})
    assert job.status == "done", job.error
    assert sorted(Account.objects.values_list("name", "employees")) == [("Contoso", 250), ("Fabrikam", 12)]

    leads = csv_upload(["Topic", "Email"], [["Demo", "lee@example.com"], ["Trial", "lee@example.com"]])
    job = import_job_create(actor=mia, entity="lead", upload=leads)
    run(job, mia)
    assert job.status == "done" and job.created_count == 2, job.error
    contact = Contact.objects.get(email="lee@example.com")
    assert set(Lead.objects.values_list("parent_contact_id", flat=True)) == {contact.pk}


def test_progress_reads_from_the_job_once_it_is_done():
    mia = MarketerFactory()
    job = import_job_create(actor=mia, entity="account", upload=csv_upload(["name"], [["A"]]))
    run(job, mia)
    assert import_job_progress(job)["percent"] == 100
