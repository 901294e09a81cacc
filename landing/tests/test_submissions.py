"""POST /l/<slug>/: stored first, then matched to a contact and a lead."""

import pytest

from crm_core.models import (
    ConsentChange,
    ConsentLevel,
    ConsentSource,
    Contact,
    ContactOrigin,
    Interaction,
    InteractionKind,
    Lead,
    LeadSource,
    LeadStatus,
)
from crm_core.tests.factories import ContactFactory, LeadFactory
from crm_core.tokens import PURPOSE_PREFILL, contact_token_make
from landing.models import (
    ContactMatching,
    FormSubmission,
    LeadMatching,
    SubmissionOutcome,
    SubmissionStatus,
)
from landing.services import submission_process
from landing.tasks import submission_process_task
from landing.tests.factories import LandingPageFactory
from landing.tests.utils import submit

pytestmark = pytest.mark.django_db


def test_a_new_person_makes_a_contact_a_lead_and_a_form_submit_interaction(web, page):
    response = submit(
        web, page, email="  Ada@Example.COM ", first_name="Ada", last_name="Lovelace", company="Analytical"
    )

    assert response.status_code == 200
    assert page.thank_you_message in response.content.decode()
    contact = Contact.objects.get()
    assert (contact.email, contact.first_name, contact.last_name) == ("ada@example.com", "Ada", "Lovelace")
    assert contact.origin == ContactOrigin.LANDING_PAGE
    lead = Lead.objects.get()
    assert (lead.topic, lead.parent_contact, lead.source) == (
        page.lead_topic,
        contact,
        LeadSource.LANDING_PAGE,
    )
    assert (lead.email, lead.company_name, lead.first_name) == ("ada@example.com", "Analytical", "Ada")
    interaction = Interaction.objects.get()
    assert interaction.kind == InteractionKind.FORM_SUBMIT and interaction.contact == contact
    assert interaction.properties["form"] == page.slug
    assert interaction.properties["lead_id"] == lead.pk
    submission = FormSubmission.objects.get()
    assert submission.status == SubmissionStatus.PROCESSED
    assert submission.outcome == SubmissionOutcome.NEW_CONTACT
    assert (submission.contact, submission.lead, submission.interaction) == (contact, lead, interaction)
    assert submission.payload["email"] == "  Ada@Example.COM "  # raw, as received
    assert "_token" not in submission.payload
    assert submission.ip_address == "127.0.0.1" and submission.user_agent == "pytest-browser"
    assert submission.attempts == 1


def test_a_known_email_in_another_case_reuses_the_contact_and_updates_only_mapped_fields(web, page):
    contact = ContactFactory(
        email="grace@example.com", first_name="", last_name="Hopper", job_title="Admiral", country="USA"
    )

    response = submit(
        web, page, email="GRACE@Example.com", first_name="Grace", last_name="Hopper", company=""
    )

    assert response.status_code == 200
    assert Contact.objects.count() == 1
    contact.refresh_from_db()
    assert contact.first_name == "Grace"  # mapped, given and empty before: filled
    assert (contact.job_title, contact.country) == ("Admiral", "USA")  # not on the form: untouched
    assert FormSubmission.objects.get().outcome == SubmissionOutcome.MATCHED_CONTACT
    assert Lead.objects.get().parent_contact == contact


def test_an_optional_field_left_empty_does_not_blank_the_contact(web, page):
    contact = ContactFactory(email="kept@example.com", first_name="Kept", last_name="Name")
    submit(web, page, email="kept@example.com", first_name="", last_name="Name")
    contact.refresh_from_db()
    assert contact.first_name == "Kept"


def test_same_topic_strategy_updates_the_open_lead_of_that_topic(web, page):
    contact = ContactFactory(email="p@example.com")
    open_lead = LeadFactory(parent_contact=contact, topic=page.lead_topic, company_name="Old")
    other_topic = LeadFactory(parent_contact=contact, topic="Another topic", company_name="Other")

    submit(web, page, email="p@example.com", last_name="P", company="New Co")

    assert Lead.objects.count() == 2
    open_lead.refresh_from_db()
    other_topic.refresh_from_db()
    assert open_lead.company_name == "New Co"
    assert other_topic.company_name == "Other"
    assert FormSubmission.objects.get().lead == open_lead


def test_same_topic_strategy_creates_a_lead_when_that_topic_is_closed(web, page):
    contact = ContactFactory(email="q@example.com")
    LeadFactory(parent_contact=contact, topic=page.lead_topic, status=LeadStatus.QUALIFIED)

    submit(web, page, email="q@example.com", last_name="Q")

    assert contact.leads.count() == 2
    assert contact.leads.filter(status=LeadStatus.NEW, topic=page.lead_topic).count() == 1


def test_any_open_strategy_updates_any_open_lead_of_the_contact(web):
    page = LandingPageFactory(lead_matching=LeadMatching.ANY_OPEN)
    contact = ContactFactory(email="r@example.com")
    other_topic = LeadFactory(parent_contact=contact, topic="Another topic", company_name="Other")

    submit(web, page, email="r@example.com", last_name="R", company="Updated")

    assert contact.leads.count() == 1
    other_topic.refresh_from_db()
    assert other_topic.company_name == "Updated"


def test_always_new_strategy_creates_a_lead_every_time(web):
    page = LandingPageFactory(lead_matching=LeadMatching.ALWAYS_NEW)
    for _ in range(3):
        assert submit(web, page, email="s@example.com", last_name="S").status_code == 200
    assert Contact.objects.count() == 1
    assert Lead.objects.filter(parent_contact__email="s@example.com", topic=page.lead_topic).count() == 3


def test_email_and_last_name_strategy_does_not_touch_a_contact_whose_last_name_differs(web):
    page = LandingPageFactory(contact_matching=ContactMatching.EMAIL_LAST_NAME)
    contact = ContactFactory(email="shared@example.com", first_name="Real", last_name="Owner")

    submit(web, page, email="shared@example.com", first_name="Someone", last_name="Else")

    contact.refresh_from_db()
    assert (contact.first_name, contact.last_name) == ("Real", "Owner")
    lead = Lead.objects.get()
    assert lead.parent_contact is None and lead.last_name == "Else"
    assert not Interaction.objects.exists()
    assert FormSubmission.objects.get().outcome == SubmissionOutcome.UNMATCHED

    submit(web, page, email="shared@example.com", first_name="Real", last_name="owner")
    assert FormSubmission.objects.filter(outcome=SubmissionOutcome.MATCHED_CONTACT).count() == 1
    assert contact.leads.count() == 1


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"email": "", "last_name": "X"}, "email"),
        ({"email": "not-an-email", "last_name": "X"}, "email"),
        ({"email": "ok@example.com"}, "last_name"),
        ({"email": "ok@example.com", "last_name": "X", "message": "m" * 2001}, "message"),
        ({"email": "ok@example.com", "last_name": "X" * 101}, "last_name"),
    ],
)
def test_an_invalid_submission_is_kept_but_makes_no_contact_and_answers_400_with_field_errors(
    web, page, values, field
):
    response = submit(web, page, **values)

    assert response.status_code == 400
    assert "errorlist" in response.content.decode()
    assert not Contact.objects.exists() and not Lead.objects.exists()
    submission = FormSubmission.objects.get()
    assert submission.status == SubmissionStatus.INVALID
    assert list(submission.errors) == [field]


def test_ticking_the_consent_box_raises_the_consent_level_on_the_record(web, page):
    contact = ContactFactory(email="c@example.com", consent_level=ConsentLevel.CONSENT)

    # A visitor identified by our signed link; an anonymous post only asks (test_anonymous_posts.py).
    token = contact_token_make(contact=contact, purpose=PURPOSE_PREFILL)
    submit(web, page, email="c@example.com", last_name="C", _consent="on", _ct=token)

    contact.refresh_from_db()
    assert contact.consent_level == ConsentLevel.MARKETING
    change = ConsentChange.objects.get()
    assert (change.field, change.old_value, change.new_value) == ("consent_level", "1", "3")
    assert change.source == ConsentSource.LANDING_PAGE and change.ip_address == "127.0.0.1"


def test_a_required_consent_box_left_unticked_is_a_field_error(web):
    page = LandingPageFactory(consent_required=True)
    response = submit(web, page, email="c@example.com", last_name="C")
    assert response.status_code == 400
    assert FormSubmission.objects.get().errors == {"_consent": ["This field is required."]}


def test_processing_twice_makes_no_duplicates(web, page):
    submit(web, page, email="twice@example.com", last_name="T")
    submission = FormSubmission.objects.get()

    submission_process_task.apply(args=[submission.pk]).get()
    submission_process(submission_id=submission.pk)

    assert (Contact.objects.count(), Lead.objects.count(), Interaction.objects.count()) == (1, 1, 1)
    submission.refresh_from_db()
    assert submission.attempts == 1


def test_the_retry_task_processes_a_stored_pending_submission_once(page):
    from landing.services import submission_store

    submission = submission_store(
        page=page,
        payload={"email": "later@example.com", "last_name": "L"},
        ip_address="10.0.0.1",
        user_agent="x",
    )
    assert not Contact.objects.exists()

    assert submission_process_task.apply(args=[submission.pk]).get() == SubmissionStatus.PROCESSED
    assert submission_process_task.apply(args=[submission.pk]).get() == SubmissionStatus.PROCESSED
    assert Contact.objects.get().email == "later@example.com"
    assert Interaction.objects.count() == 1


def test_a_draft_page_is_not_public_but_marketers_can_preview_it(web, marketer):
    page = LandingPageFactory(status="draft")
    assert web.get(f"/l/{page.slug}/").status_code == 404
    assert submit(web, page, email="d@example.com", last_name="D").status_code == 404
    web.force_login(marketer)
    response = web.get(f"/l/{page.slug}/")
    assert response.status_code == 200
    assert "Preview of a draft" in response.content.decode()


def test_unknown_page_is_404(web, db):
    assert web.get("/l/nope/").status_code == 404


def test_page_content_is_sanitised(web):
    page = LandingPageFactory(
        content='<p onclick="steal()">Hi<script>alert(1)</script><a href="javascript:alert(1)">x</a></p>'
    )
    html = web.get(f"/l/{page.slug}/").content.decode()
    assert "<p>Hi" in html
    assert "<script>alert" not in html and "onclick" not in html and "javascript:" not in html


def test_a_submission_of_a_known_contact_takes_a_fixed_number_of_queries(
    web, page, django_assert_max_num_queries
):
    ContactFactory(email="known@example.com", last_name="Known")
    submit(web, page, email="known@example.com", last_name="Known")  # makes the lead
    with django_assert_max_num_queries(16):  # 16th: is this post a repeat for scoring?
        assert submit(web, page, email="known@example.com", last_name="Known").status_code == 200
