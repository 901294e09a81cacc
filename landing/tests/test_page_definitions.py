"""A page's form must identify a contact: one check for the editor, the API, the admin and the
services; a stored page that fails it makes its submissions fail for good (visible, re-queueable)."""

import pytest
from django.urls import reverse

from crm_core.models import Contact, Lead
from landing.models import FieldType, FormField, FormSubmission, LandingPage, SubmissionStatus
from landing.services import (
    EMAIL_FIELD_MISSING,
    LandingPageInvalid,
    landing_page_create,
    submission_failure_record,
    submissions_unfinished_ids,
)
from landing.tasks import submission_process_task
from landing.tests.factories import LandingPageFactory
from landing.tests.test_editor import _post_data
from landing.tests.utils import submit

pytestmark = pytest.mark.django_db

API = "/api/landing-pages/"
EMAIL_ROW = {
    "name": "email",
    "label": "Email",
    "field_type": "email",
    "required": True,
    "contact_field": "email",
}


def _broken_live_page(**kwargs):
    """A live page stored before the check existed: its email field is optional."""
    page = LandingPageFactory(with_fields=False, **kwargs)
    FormField.objects.create(
        page=page, name="email", label="Email", field_type=FieldType.EMAIL, contact_field="email"
    )
    FormField.objects.create(page=page, name="last_name", label="Last name", contact_field="last_name")
    return page


# --- The editor ---------------------------------------------------------------------------------


def test_the_editor_refuses_a_live_page_without_an_email_field(client, marketer):
    client.force_login(marketer)
    data = _post_data(**{"fields-0-contact_field": "", "fields-0-name": "mail"})
    response = client.post("/landing-pages/new/", data)
    assert response.status_code == 400
    assert response.context["fields"].non_form_errors() == [EMAIL_FIELD_MISSING]
    assert "without it no submission can become a contact" in response.content.decode()
    assert not LandingPage.objects.exists()


def test_the_editor_shows_an_optional_email_field_error_at_the_field(client, marketer):
    client.force_login(marketer)
    data = _post_data()
    del data["fields-0-required"]
    response = client.post("/landing-pages/new/", data)
    assert response.status_code == 400
    row = response.context["fields"].forms[0]
    assert row.errors["required"] == [
        "The field mapped to the contact's email must be required: it identifies the contact."
    ]
    assert not LandingPage.objects.exists()


def test_the_editor_checks_the_fields_against_the_edited_matching_rule(client, marketer):
    client.force_login(marketer)
    response = client.post("/landing-pages/new/", _post_data(contact_matching="email_last_name"))
    assert response.status_code == 400
    assert "needs a form field mapped to the contact&#x27;s last_name" in response.content.decode()


def test_the_editor_keeps_the_values_of_a_choice_field(client, marketer):
    client.force_login(marketer)
    data = _post_data(
        **{"fields-1-field_type": "choice", "fields-1-choices": "Small, Large", "fields-1-lead_field": ""}
    )
    assert client.post("/landing-pages/new/", data).status_code == 302
    page = LandingPage.objects.get()
    assert page.fields.get(name="company").choices == ["Small", "Large"]
    edit = client.get(f"/landing-pages/{page.pk}/")
    assert 'value="Small, Large"' in edit.content.decode()


# --- The API ------------------------------------------------------------------------------------


def test_the_api_refuses_to_set_live_a_stored_page_whose_email_field_is_optional(marketer_client):
    page = _broken_live_page(status="draft")
    response = marketer_client.patch(f"{API}{page.pk}/", {"status": "live"}, format="json")
    assert response.status_code == 400
    assert response.data["fields"][0]["required"]
    page.refresh_from_db()
    assert page.status == "draft"


def test_the_api_names_the_field_at_fault(marketer_client):
    body = {
        "slug": "p",
        "title": "P",
        "lead_topic": "T",
        "status": "live",
        "fields": [
            EMAIL_ROW,
            {"name": "ok", "label": "OK", "field_type": "checkbox", "contact_field": "city"},
        ],
    }
    response = marketer_client.post(API, body, format="json")
    assert response.status_code == 400
    assert response.data["fields"][1]["contact_field"] == [
        "A checkbox gives only yes or no; it cannot set the contact's city."
    ]
    assert not LandingPage.objects.exists()


def test_the_services_refuse_an_unsound_page_and_save_nothing():
    with pytest.raises(LandingPageInvalid) as refused:
        landing_page_create(data={"slug": "x", "title": "X", "lead_topic": "T"}, fields=[])
    assert refused.value.problems[0].message == EMAIL_FIELD_MISSING
    assert not LandingPage.objects.exists()


# --- The admin ----------------------------------------------------------------------------------


def test_the_admin_form_uses_the_same_check(client, admin_user):
    client.force_login(admin_user)
    data = {
        "title": "A", "slug": "a", "status": "live", "content": "", "lead_topic": "T",
        "contact_matching": "email", "lead_matching": "same_topic", "submit_label": "Send",
        "consent_text": "", "consent_level": 3, "thank_you_message": "Thanks", "redirect_url": "",
        "fields-TOTAL_FORMS": "1", "fields-INITIAL_FORMS": "0", "fields-MIN_NUM_FORMS": "0",
        "fields-MAX_NUM_FORMS": "1000", "fields-0-position": "0", "fields-0-name": "email",
        "fields-0-label": "Email", "fields-0-field_type": "email", "fields-0-max_length": "200",
        "fields-0-choices": "", "fields-0-contact_field": "email", "fields-0-lead_field": "",
    }  # fmt: skip
    response = client.post(reverse("admin:landing_landingpage_add"), data)
    assert response.status_code == 200
    assert "must be required: it identifies the contact" in response.content.decode()
    assert not LandingPage.objects.exists()


# --- Failed submissions -------------------------------------------------------------------------


def test_a_submission_to_a_misconfigured_page_fails_for_good_at_once_with_the_reason(web):
    page = _broken_live_page()
    response = submit(web, page, email="", last_name="Nobody")

    assert response.status_code == 200  # stored: it can be processed once the page is fixed
    submission = FormSubmission.objects.get()
    assert submission.status == SubmissionStatus.FAILED
    assert "cannot identify a contact" in submission.error and "must be required" in submission.error
    assert submission.attempts == 1
    assert submission.pk not in submissions_unfinished_ids(older_than_seconds=-60)  # the sweep skips it
    assert submission_process_task.apply(args=[submission.pk]).get() == SubmissionStatus.FAILED
    assert not Contact.objects.exists() and not Lead.objects.exists()


def test_a_failure_that_keeps_coming_back_stops_after_the_last_attempt(settings, page):
    settings.LANDING_MAX_ATTEMPTS = 3
    submission = FormSubmission.objects.create(page=page, payload={}, received_at="2026-01-01T00:00Z")
    statuses = [
        submission_failure_record(
            submission_id=submission.pk, error=RuntimeError("db away"), schedule_retry=False
        )
        for _ in range(4)
    ]
    assert statuses == [SubmissionStatus.RETRYING, SubmissionStatus.RETRYING, SubmissionStatus.FAILED, None]
    submission.refresh_from_db()
    assert submission.attempts == 3 and submission.error == "RuntimeError: db away"


def test_failed_submissions_are_counted_for_marketers_and_requeued_after_the_fix(
    web, client, marketer, marketer_client
):
    page = _broken_live_page()
    healthy = LandingPageFactory()
    submit(web, page, email="late@example.com", last_name="Late")
    submission = FormSubmission.objects.get()
    assert submission.status == SubmissionStatus.FAILED

    client.force_login(marketer)
    listing = client.get("/landing-pages/").content.decode()
    assert "1 failed" in listing
    edit = client.get(f"/landing-pages/{page.pk}/").content.decode()
    assert "cannot identify a contact" in edit and 'data-testid="requeue-failed"' in edit
    assert marketer_client.get(f"{API}{page.pk}/").data["failed_submissions"] == 1
    with_failures = marketer_client.get(f"{API}?has_failed_submissions=true").data["results"]
    assert [p["id"] for p in with_failures] == [page.pk]
    assert marketer_client.get(f"{API}?has_failed_submissions=false").data["results"][0]["id"] == healthy.pk
    failed = marketer_client.get(f"{API}{page.pk}/submissions/?status=failed").data["results"]
    assert "cannot identify a contact" in failed[0]["error"]

    fixed = [EMAIL_ROW, {"name": "last_name", "label": "Last name", "contact_field": "last_name"}]
    assert marketer_client.patch(f"{API}{page.pk}/", {"fields": fixed}, format="json").status_code == 200
    requeued = client.post(f"/landing-pages/{page.pk}/requeue-failed/", follow=True)
    assert "1 failed submission(s) sent through processing again." in requeued.content.decode()
    submission.refresh_from_db()
    assert (submission.status, submission.attempts) == (SubmissionStatus.PENDING, 0)

    assert submission_process_task.apply(args=[submission.pk]).get() == SubmissionStatus.PROCESSED
    assert Lead.objects.get().parent_contact == Contact.objects.get(email="late@example.com")
    # Processing is idempotent: running it again changes nothing.
    assert submission_process_task.apply(args=[submission.pk]).get() == SubmissionStatus.PROCESSED
    assert Lead.objects.count() == 1


def test_the_api_and_the_admin_requeue_failed_submissions(
    web, marketer_client, sales_client, client, admin_user
):
    page = _broken_live_page()
    submit(web, page, email="a@example.com", last_name="A")
    url = f"{API}{page.pk}/requeue-failed/"
    assert sales_client.post(url).status_code == 403
    assert marketer_client.post(url).data == {"requeued": 1}
    assert marketer_client.post(url).data == {"requeued": 0}
    assert FormSubmission.objects.get().status == SubmissionStatus.PENDING

    FormSubmission.objects.update(status=SubmissionStatus.FAILED)
    client.force_login(admin_user)
    changelist = reverse("admin:landing_formsubmission_changelist")
    assert client.get(changelist + "?status__exact=failed").status_code == 200
    assert client.get(reverse("admin:landing_landingpage_changelist") + "?failed=yes").status_code == 200
    ids = list(FormSubmission.objects.values_list("pk", flat=True))
    client.post(changelist, {"action": "requeue_failed", "_selected_action": ids})
    assert FormSubmission.objects.get().status == SubmissionStatus.PENDING
