"""Custom fields as import targets: contacts, accounts and leads take `custom.<key>` columns, each
cell parsed and validated by the field's type, bad cells reported per row and nothing saved; on
the PostgreSQL statements and on the portable path."""

import pytest

from crm_core.models import Account, Contact, Lead
from crm_core.services import custom_field_create
from crm_core.services.import_files import import_targets
from crm_core.services.import_jobs import import_job_create
from crm_core.tests.factories import ContactFactory, MarketerFactory
from crm_core.tests.notices import notices_sent
from crm_core.tests.test_import_jobs import csv_upload, report_rows, run

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


@pytest.fixture(params=["postgres", "portable"])
def sql_path(request):
    if request.param == "portable":
        request.getfixturevalue("portable_path")
    return request.param


@pytest.fixture
def contact_fields():
    made = [
        ("tier", "Tier", "choice", [{"value": "gold", "label": "Gold plan"}, "silver"]),
        ("seats", "Seats", "number", []),
        ("renewal", "Renewal", "date", []),
        ("topics", "Topics", "multi_choice", ["ai", "crm", "iot"]),
        ("vip", "VIP", "boolean", []),
        ("nickname", "Nickname", "text", []),
    ]
    for key, label, kind, choices in made:
        custom_field_create(entity="contact", key=key, label=label, field_type=kind, choices=choices)


HEADER = ["email", "Tier", "Seats", "Renewal", "Topics", "VIP", "Nickname"]


def test_custom_fields_are_targets_and_suggested_by_label(contact_fields):
    targets = {target.name: (target.label, target.custom) for target in import_targets("contact")}
    assert targets["custom.tier"] == ("Tier", True) and targets["email"][1] is False
    assert "custom.tier" not in {target.name for target in import_targets("account")}
    job = import_job_create(actor=MarketerFactory(), entity="contact", upload=csv_upload(HEADER, []))
    assert job.mapping == {
        "email": "email",
        "Tier": "custom.tier",
        "Seats": "custom.seats",
        "Renewal": "custom.renewal",
        "Topics": "custom.topics",
        "VIP": "custom.vip",
        "Nickname": "custom.nickname",
    }


def test_contacts_get_typed_values_and_known_ones_merge_key_by_key(
    contact_fields, sql_path, django_capture_on_commit_callbacks
):
    mia = MarketerFactory()
    known = ContactFactory(email="known@example.com", custom={"nickname": "Kay", "seats": 3})
    rows = [
        ["new@example.com", "gold plan", "12", "2025-03-01", "crm; AI", "yes", " Neo "],
        ["known@example.com", "silver", "4.5", "", "", "no", ""],
        ["blank@example.com", "", "", "", "", "", ""],
    ]
    job = import_job_create(actor=mia, entity="contact", upload=csv_upload(HEADER, rows))
    with notices_sent() as sent, django_capture_on_commit_callbacks(execute=True):
        result = run(job, mia)

    assert result["status"] == "done", job.error
    assert Contact.objects.get(email="new@example.com").custom == {
        "tier": "gold",
        "seats": 12,
        "renewal": "2025-03-01",
        "topics": ["ai", "crm"],
        "vip": True,
        "nickname": "Neo",
    }
    known.refresh_from_db()  # the cells given replace their keys; the others are kept
    assert known.custom == {"nickname": "Kay", "seats": 4.5, "tier": "silver", "vip": False}
    assert Contact.objects.get(email="blank@example.com").custom == {}
    updated = next(n for n in sent if n.entity == "contact" and n.action == "updated")
    assert updated.ids == {known.pk} and "custom" in updated.fields
    # Importing the same values again changes nothing.
    again = import_job_create(actor=mia, entity="contact", upload=csv_upload(HEADER, rows[1:2]))
    run(again, mia)
    assert (again.updated_count, again.skipped_count) == (0, 1)


def test_bad_cells_are_reported_per_row_and_nothing_is_saved(contact_fields, sql_path):
    custom_field_create(entity="contact", key="region", label="Region", field_type="text", required=True)
    mia = MarketerFactory()
    ContactFactory(email="known@example.com")
    header = [*HEADER, "Region"]
    rows = [
        ["a@example.com", "platinum", "12", "2025-03-01", "", "", "", "EU"],
        ["b@example.com", "gold", "many", "2025-13-01", "crm;mars", "perhaps", "", "EU"],
        ["c@example.com", "gold", "1", "", "", "", "", ""],  # new: the required field is missing
        ["known@example.com", "gold", "1", "", "", "", "", ""],  # an update needs no required field
    ]
    job = import_job_create(actor=mia, entity="contact", upload=csv_upload(header, rows))
    result = run(job, mia)

    assert result["status"] == "failed" and job.failed_count == 3
    assert Contact.objects.count() == 1
    problems = [(r["row"], r["column"], r["field"]) for r in report_rows(job)]
    assert problems == [
        ("1", "Tier", "custom.tier"),
        ("2", "Renewal", "custom.renewal"),
        ("2", "Seats", "custom.seats"),
        ("2", "Topics", "custom.topics"),
        ("2", "VIP", "custom.vip"),
        ("3", "Region", "custom.region"),
    ]
    messages = {r["field"]: r["message"] for r in report_rows(job)}
    assert "platinum" in messages["custom.tier"] or "“platinum”" in messages["custom.tier"]
    assert messages["custom.region"] == "This custom field is required."


def test_accounts_and_leads_take_custom_columns(sql_path):
    custom_field_create(entity="account", key="segment", label="Segment", field_type="choice",
                        choices=["smb", "enterprise"], required=True)  # fmt: skip
    custom_field_create(entity="lead", key="budget", label="Budget", field_type="number")
    custom_field_create(entity="lead", key="stage", label="Stage", field_type="choice",
                        choices=[{"value": "eval", "label": "Evaluating"}, "buying"])  # fmt: skip
    mia = MarketerFactory()
    accounts = csv_upload(["name", "Segment"], [["Contoso", "Enterprise"], ["Fabrikam", "smb"]])
    job = import_job_create(actor=mia, entity="account", upload=accounts)
    assert job.mapping == {"name": "name", "Segment": "custom.segment"}
    run(job, mia)
    assert job.status == "done", job.error
    assert dict(Account.objects.values_list("name", "custom__segment")) == {
        "Contoso": "enterprise",
        "Fabrikam": "smb",
    }

    missing = import_job_create(actor=mia, entity="account", upload=csv_upload(["name"], [["Initech"]]))
    run(missing, mia)
    assert missing.status == "failed" and not Account.objects.filter(name="Initech").exists()
    assert [(r["row"], r["field"]) for r in report_rows(missing)] == [("1", "custom.segment")]

    leads = csv_upload(
        ["topic", "email", "Budget", "Stage"], [["Demo", "lee@example.com", "2500", "EVALUATING"]]
    )
    job = import_job_create(actor=mia, entity="lead", upload=leads)
    assert job.mapping["Budget"] == "custom.budget"
    run(job, mia)
    assert job.status == "done", job.error
    assert Lead.objects.get().custom == {"budget": 2500, "stage": "eval"}

    bad = csv_upload(["topic", "Budget"], [["Demo", "lots"]])
    job = import_job_create(actor=mia, entity="lead", upload=bad)
    run(job, mia)
    assert job.status == "failed" and Lead.objects.count() == 1
    assert [(r["row"], r["column"], r["field"]) for r in report_rows(job)] == [
        ("1", "Budget", "custom.budget")
    ]


def test_a_field_deleted_after_mapping_fails_the_run_saying_so(contact_fields):
    from crm_core.models import CustomField
    from crm_core.services.import_jobs import import_job_map, import_job_start
    from crm_core.services.import_run import import_job_run

    mia = MarketerFactory()
    job = import_job_create(
        actor=mia, entity="contact", upload=csv_upload(["email", "VIP"], [["a@x.org", "y"]])
    )
    import_job_map(job=job, actor=mia, mapping=job.mapping, on_known_email="update")
    import_job_start(job=job, actor=mia)
    CustomField.objects.filter(key="vip").delete()
    assert import_job_run(job_id=job.pk)["status"] == "failed"
    job.refresh_from_db()
    assert "custom.vip" in job.error and Contact.objects.count() == 0


def test_the_same_holds_on_sqlite(tmp_path):
    """This module again, in a process on the embedded default's database (SQLite)."""
    from django.db import connection

    from conftest import rerun_on_sqlite

    run = rerun_on_sqlite(tmp_path, __file__, leave_out="test_the_same_holds_on_sqlite")
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-3000:]
    assert connection.vendor == "postgresql" and "8 passed" in run.stdout, run.stdout[-2000:]
