"""Processing a stored submission into the CRM, in one transaction that does everything or nothing:
the contact upsert (by the page's matching rule), the mapped field updates, the consent, the lead
(matched or new) and the `form_submit` interaction. Running it twice is harmless: a processed
submission is left alone.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from crm_core import signal_quality, sqlpath
from crm_core.models import (
    ConsentSource,
    Contact,
    ContactOrigin,
    InteractionKind,
    Lead,
    LeadSource,
    LeadStatus,
)
from crm_core.services import (
    contact_get_or_create_by_email,
    contact_update,
    event_register,
    interaction_record,
    lead_create,
    lead_create_identity_conflict,
    lead_update,
    merge_survivor,
)
from crm_core.tokens import PURPOSE_PREFILL, ContactTokenError, contact_token_read

from ..forms import IDENTITY_FIELD, LandingForm, form_data, form_errors
from ..models import FormField, FormSubmission, LandingPage, LeadMatching, SubmissionOutcome, SubmissionStatus
from .confirmation import consent_raise
from .definitions import MATCHING_FIELDS, landing_form_problems, page_field_rows

# Submissions processing may still take (the retry task and the periodic sweep look for these).
UNFINISHED_STATUSES = (SubmissionStatus.PENDING, SubmissionStatus.RETRYING)

OPEN_LEAD_STATUSES = (
    LeadStatus.NEW,
    LeadStatus.MARKETING_QUALIFIED,
    LeadStatus.SALES_ACCEPTED,
    LeadStatus.NURTURE,
)


def _names_match(contact: Contact, values: dict, strategy: str) -> bool:
    for name in MATCHING_FIELDS[strategy]:
        if (getattr(contact, name) or "").strip().casefold() != str(values.get(name, "")).strip().casefold():
            return False
    return True


def _find_open_lead(*, contact: Contact, page: LandingPage) -> Lead | None:
    if page.lead_matching == LeadMatching.ALWAYS_NEW:
        return None
    leads = contact.leads.filter(status__in=OPEN_LEAD_STATUSES)
    if page.lead_matching == LeadMatching.SAME_TOPIC:
        leads = leads.filter(topic=page.lead_topic)
    return leads.order_by("-created_at", "-id").first()


def _new_lead_data(*, page: LandingPage, contact: Contact | None, email: str, lead_values: dict) -> dict:
    data = {
        "topic": page.lead_topic,
        "source": LeadSource.LANDING_PAGE,
        "email": email,
        "parent_contact": contact,
        "parent_account": contact.parent_account if contact else None,
    }
    if contact is not None:
        data.update(first_name=contact.first_name, last_name=contact.last_name)
    data.update(lead_values)
    return data


def _set_lock_timeout() -> None:
    """A busy person's row fails this attempt quickly (it is retried) instead of holding the post."""
    if sqlpath.postgres_sql():
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT set_config('lock_timeout', %s, true)", [f"{settings.LANDING_LOCK_TIMEOUT_MS}ms"]
            )


class SubmissionPermanentError(Exception):
    """Processing cannot succeed until someone changes something (the page's form): not retried."""


def _check_page_processable(page: LandingPage, page_fields: Sequence[FormField]) -> None:
    problems = landing_form_problems(
        fields=page_field_rows(page_fields), contact_matching=page.contact_matching
    )
    if problems:
        details = " ".join(p.message for p in problems)
        raise SubmissionPermanentError(f"The form of page “{page.slug}” cannot identify a contact: {details}")


def _locked_contact(pk: int) -> Contact:
    """The contact, locked; if a merge removed it while we waited for its lock, the survivor."""
    query = Contact.objects.select_for_update(of=("self",)).select_related("parent_account")
    try:
        return query.get(pk=pk)
    except Contact.DoesNotExist:
        survivor = merge_survivor(pk)
        if survivor is None:
            raise
        return query.get(pk=survivor)


def _process_locked(submission: FormSubmission) -> None:
    page = submission.page
    form = LandingForm(form_data(submission.payload), page=page)
    _check_page_processable(page, form.page_fields)
    if not form.is_valid():
        submission.status = SubmissionStatus.INVALID
        submission.errors = form_errors(form)
        return
    contact_values = form.mapped("contact")
    lead_values = form.mapped("lead")
    email = contact_values.pop("email")
    # Custom values are set like edits (after the contact or lead exists): a required custom field
    # the form does not ask for never blocks a submission.
    contact_custom = contact_values.pop("custom", {})
    lead_custom = lead_values.pop("custom", {})

    contact, created = contact_get_or_create_by_email(
        email=email, defaults={**contact_values, "origin": ContactOrigin.LANDING_PAGE}
    )
    # Concurrent submissions of one person queue here, so lead matching sees the other's lead.
    contact = _locked_contact(contact.pk)
    if not created and not _names_match(contact, contact_values, page.contact_matching):
        # The email belongs to someone the rule does not recognise: touch nobody's record, and hold
        # the lead for a marketer to link or dismiss (the orphan-lead workflow leaves it alone).
        submission.lead = lead_create_identity_conflict(
            conflict_contact=contact,
            **_new_lead_data(page=page, contact=None, email=email, lead_values=lead_values),
        )
        submission.outcome = SubmissionOutcome.UNMATCHED
        return

    identified = created or _identified_contact_id(submission) == contact.pk
    overwrite = identified and page.identified_visitors_update
    changed = _contact_changes(contact, contact_values, overwrite=overwrite)
    custom_changed = _custom_changes(contact.custom, contact_custom, overwrite=overwrite)
    if custom_changed:
        changed["custom"] = custom_changed
    if changed:
        contact = contact_update(contact=contact, consent_source=ConsentSource.LANDING_PAGE, **changed)
    if form.consent_given and contact.consent_level < page.consent_level:
        consent_raise(submission, contact, identified=identified)

    lead = _find_open_lead(contact=contact, page=page)
    if lead is None:
        lead = lead_create(**_new_lead_data(page=page, contact=contact, email=email, lead_values=lead_values))
        lead_values = {}
    updates = {name: value for name, value in lead_values.items() if getattr(lead, name) != value}
    lead_custom = _custom_changes(lead.custom, lead_custom, overwrite=True)
    if lead_custom:
        updates["custom"] = lead_custom
    if updates:
        lead_update(lead=lead, **updates)

    submission.interaction = _form_submit_record(submission, contact=contact, lead=lead)
    if page.event_id is not None:  # the page's event: registered once, however often the form is sent
        event_register(event=page.event, contact=contact, registered_at=submission.received_at)
    submission.outcome = SubmissionOutcome.NEW_CONTACT if created else SubmissionOutcome.MATCHED_CONTACT
    submission.contact = contact
    submission.lead = lead


def _identified_contact_id(submission: FormSubmission) -> int | None:
    """The contact a signed link from our email identified (the form carries it), else None."""
    token = submission.payload.get(IDENTITY_FIELD)
    if not isinstance(token, str) or not token:
        return None
    try:
        return contact_token_read(token=token, purpose=PURPOSE_PREFILL).pk
    except ContactTokenError:
        return None


def _contact_changes(contact: Contact, values: dict, *, overwrite: bool) -> dict:
    """What a post may change: anything for an identified visitor the page trusts; otherwise only
    fields the contact has empty, since a match by email alone proves nothing about who typed."""
    return {
        name: value
        for name, value in values.items()
        if getattr(contact, name) != value and (overwrite or getattr(contact, name) in (None, ""))
    }


def _custom_changes(current: dict, values: dict, *, overwrite: bool) -> dict:
    """The custom values a post may change, by the rule of `_contact_changes`."""
    return {
        key: value
        for key, value in values.items()
        if current.get(key) != value and (overwrite or current.get(key) in (None, "", []))
    }


def _form_submit_record(submission: FormSubmission, *, contact: Contact, lead: Lead):
    """The form_submit interaction; a repeat of this page by this person within the window is
    recorded unscored (the contact row is locked, so concurrent posts decide one after the other)."""
    page = submission.page
    reason = signal_quality.unscored_reason(
        contact_id=contact.pk,
        kind=InteractionKind.FORM_SUBMIT,
        occurred_at=submission.received_at,
        same={"landing_page_id": page.pk},
    )
    return interaction_record(
        contact_id=contact.pk,
        kind=InteractionKind.FORM_SUBMIT,
        occurred_at=submission.received_at,
        properties=signal_quality.mark(
            {
                "form": page.slug,
                "page": page.title,
                "landing_page_id": page.pk,
                "url": page.get_absolute_url(),
                "submission_id": submission.pk,
                "lead_id": lead.pk,
                "topic": page.lead_topic,
            },
            reason,
        ),
    )


def submission_process(*, submission_id: int) -> FormSubmission:
    """Process a stored submission; all or nothing, and a no-op unless it is pending or retrying.

    Raises whatever went wrong (the caller records it with `submission_failure_record`).
    """
    with transaction.atomic():
        submission = (
            FormSubmission.objects.select_for_update(of=("self",))
            .select_related("page", "page__event")
            .get(pk=submission_id)
        )
        if submission.status not in UNFINISHED_STATUSES:
            return submission
        _set_lock_timeout()
        _process_locked(submission)
        if submission.status != SubmissionStatus.INVALID:
            submission.status = SubmissionStatus.PROCESSED
            submission.error = ""
        submission.processed_at = timezone.now()
        submission.attempts += 1  # exact: the row is locked
        submission.save()
    return submission
