"""Bulk lead import: POST /api/leads/bulk/ and `manage.py import_leads`."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from crm_core.models import Contact, ContactOrigin, Lead, LeadSource, WorkflowSettings
from crm_core.tests.factories import AccountFactory, ContactFactory

pytestmark = pytest.mark.django_db

BULK = "/api/leads/bulk/"


def test_import_creates_leads_and_runs_the_orphan_workflow_on_the_batch(marketer_client):
    known = ContactFactory(email="known@example.com")
    parent = ContactFactory()
    account = AccountFactory()
    rows = [
        {"topic": "Demo", "email": "Pat@Example.com", "first_name": "Pat", "parent_account": account.pk},
        {"topic": "Trial", "email": "pat@example.com "},
        {"topic": "Demo", "email": "KNOWN@example.com", "job_role": "champion"},
        {"topic": "Webinar", "first_name": "No", "last_name": "Email"},
        {"topic": "Pricing", "email": "given@example.com", "parent_contact": parent.pk},
    ]
    contacts_before = Contact.objects.count()

    response = marketer_client.post(BULK, rows, format="json")

    assert response.status_code == 201, response.data
    assert {k: v for k, v in response.data.items() if k != "lead_ids"} == {
        "leads_created": 5,
        "contacts_created": 2,  # one for both pat@ leads, one for the lead without email
        "contacts_linked": 1,  # known@
        "leads_linked": 4,
    }
    leads = list(Lead.objects.filter(pk__in=response.data["lead_ids"]).order_by("pk"))
    assert [lead.topic for lead in leads] == ["Demo", "Trial", "Demo", "Webinar", "Pricing"]
    assert all(lead.source == LeadSource.IMPORT for lead in leads)
    assert leads[0].parent_contact_id == leads[1].parent_contact_id
    pat = leads[0].parent_contact
    assert (pat.email, pat.first_name, pat.parent_account, pat.marketing_only, pat.origin) == (
        "pat@example.com",
        "Pat",
        account,
        True,
        ContactOrigin.ORPHAN_LEAD_WORKFLOW,
    )
    assert leads[2].parent_contact == known
    assert leads[3].parent_contact.email is None
    assert leads[4].parent_contact == parent
    assert Contact.objects.count() == contacts_before + 2


def test_one_bad_row_saves_nothing_and_names_the_row(marketer_client):
    rows = [{"topic": "Fine", "email": f"ok{i}@example.com"} for i in range(5)]
    rows[3] = {"topic": "Broken", "email": "not-an-email"}
    leads_before, contacts_before = Lead.objects.count(), Contact.objects.count()

    response = marketer_client.post(BULK, rows, format="json")

    assert response.status_code == 400
    assert response.data["rows"] == [{"row": 3, "errors": {"email": ["Enter a valid email address."]}}]
    assert "1 of 5 rows are invalid; nothing was saved" in response.data["detail"]
    assert (Lead.objects.count(), Contact.objects.count()) == (leads_before, contacts_before)


def test_every_invalid_row_is_reported_with_its_index(marketer_client):
    rows = [
        {"topic": "ok"},
        {"email": "a@example.com"},
        {"topic": "x", "job_role": "astronaut"},
        {"topic": "x", "colour": "red"},
        {"topic": "x", "parent_account": 987654},
        {"topic": "x", "parent_contact": "abc"},
        "not an object",
        {"topic": "x" * 201},
        {"topic": "x", "estimated_value": "lots"},
        {"topic": ["a", "b"]},
    ]
    response = marketer_client.post(BULK, rows, format="json")
    assert response.status_code == 400
    errors = {item["row"]: item["errors"] for item in response.data["rows"]}
    assert sorted(errors) == [1, 2, 3, 4, 5, 6, 7, 8, 9]
    assert errors[1] == {"topic": ["This field is required."]}
    assert list(errors[2]) == ["job_role"] and "astronaut" in errors[2]["job_role"][0]
    assert errors[3] == {"colour": ["Unknown field."]}
    assert errors[4] == {"parent_account": ["There is no account with id 987654."]}
    assert list(errors[5]) == ["parent_contact"]
    assert list(errors[6]) == ["non_field_errors"]
    assert list(errors[7]) == ["topic"]
    assert list(errors[8]) == ["estimated_value"]
    assert errors[9] == {"topic": ["Expected a single value."]}
    assert not Lead.objects.exists()


def test_more_than_10000_rows_get_413_with_a_message(marketer_client):
    response = marketer_client.post(BULK, [{"topic": "t"}] * 10_001, format="json")
    assert response.status_code == 413
    assert "at most 10,000" in str(response.data["detail"])
    assert not Lead.objects.exists()


def test_10000_rows_are_accepted(marketer_client):
    rows = [{"topic": "t", "email": f"p{i % 4000}@example.com"} for i in range(10_000)]
    response = marketer_client.post(BULK, rows, format="json")
    assert response.status_code == 201
    assert (response.data["leads_created"], response.data["contacts_created"]) == (10_000, 4000)
    assert not Lead.objects.filter(parent_contact__isnull=True).exists()


@pytest.mark.parametrize("body", [{"topic": "not a list"}, [], "text"])
def test_a_body_that_is_not_a_list_of_leads_is_a_400(marketer_client, body):
    response = marketer_client.post(BULK, body, format="json")
    assert response.status_code == 400
    assert "non_field_errors" in response.data


def test_malformed_json_is_a_400(marketer_client):
    response = marketer_client.post(BULK, '[{"topic": ', content_type="application/json")
    assert response.status_code == 400


def test_sales_may_not_import_and_anonymous_gets_401(sales_client, anon_client, admin_client_api):
    rows = [{"topic": "t"}]
    assert sales_client.post(BULK, rows, format="json").status_code == 403
    assert anon_client.post(BULK, rows, format="json").status_code == 401
    assert admin_client_api.post(BULK, rows, format="json").status_code == 201


def test_with_the_workflow_off_imported_leads_stay_orphans(marketer_client):
    WorkflowSettings.objects.filter(pk=1).update(orphan_lead_workflow_enabled=False)
    response = marketer_client.post(BULK, [{"topic": "t", "email": "o@example.com"}], format="json")
    assert response.status_code == 201
    assert (response.data["contacts_created"], response.data["leads_linked"]) == (0, 0)
    assert Lead.objects.get().parent_contact_id is None


def test_the_number_of_queries_does_not_grow_with_the_rows(marketer_client):
    def queries(n: int, tag: str) -> int:
        rows = [{"topic": "t", "email": f"{tag}{i}@example.com" if i % 4 else None} for i in range(n)]
        rows[0]["parent_account"] = AccountFactory().pk
        with CaptureQueriesContext(connection) as captured:
            assert marketer_client.post(BULK, rows, format="json").status_code == 201
        return len(captured)

    queries(1, "warm-up")  # the first request loads the user's permissions
    assert queries(5, "a") == queries(300, "b")


def _csv(tmp_path, text: str):
    path = tmp_path / "leads.csv"
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_import_leads_command_imports_a_csv(tmp_path):
    path = _csv(
        tmp_path,
        "topic,first_name,email,company_name\nDemo,Ann,ann@example.com,Acme\nTrial,Ann,ANN@example.com,\n"
        "Webinar,Bo,,\n",
    )
    out = StringIO()
    call_command("import_leads", path, "--no-progress", stdout=out)
    assert Lead.objects.count() == 3
    assert not Lead.objects.filter(parent_contact__isnull=True).exists()
    assert "Imported 3 leads: 2 contacts created, 0 existing contacts linked" in out.getvalue()


def test_import_leads_command_refuses_a_file_with_a_bad_row(tmp_path):
    path = _csv(
        tmp_path, "topic,email,job_role\nDemo,a@example.com,\n,b@example.com,\nX,c@example.com,pilot\n"
    )
    err = StringIO()
    with pytest.raises(CommandError, match="2 of 3 rows are invalid; nothing was saved"):
        call_command("import_leads", path, "--no-progress", stderr=err)
    assert "row 2 (line 3 with the header): topic: This field is required." in err.getvalue()
    assert "row 3 (line 4 with the header): job_role:" in err.getvalue()
    assert not Lead.objects.exists()


def test_import_leads_command_reports_a_missing_file(tmp_path):
    with pytest.raises(CommandError, match="Cannot read"):
        call_command("import_leads", str(tmp_path / "nope.csv"), "--no-progress")
