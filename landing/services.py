"""Writes of the landing app: pages, and the life of a submission (store, process, retry).

A submission is stored in a transaction of its own before anything else, so
nothing that goes wrong later can lose it. Processing is a second transaction
that locks the submission row and does everything or nothing: the contact
upsert, the mapped field updates, the lead and the `form_submit` interaction.
Running it twice is harmless: a processed submission is left alone.
"""

from __future__ import annotations

import logging
from datetime import timedelta

import nh3
from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone

from crm_core import consent
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
    interaction_record,
    lead_create,
    lead_update,
)
from crm_core.tokens import PURPOSE_PREFERENCES, contact_token_make

from .forms import LandingForm, form_data, form_errors
from .models import (
    ContactMatching,
    FormField,
    FormSubmission,
    LandingPage,
    LeadMatching,
    SubmissionOutcome,
    SubmissionStatus,
)
from .selectors import subscription_lists_for_contact

logger = logging.getLogger(__name__)

OPEN_LEAD_STATUSES = (
    LeadStatus.NEW,
    LeadStatus.MARKETING_QUALIFIED,
    LeadStatus.SALES_ACCEPTED,
    LeadStatus.NURTURE,
)

# Besides email, the contact fields each matching strategy compares (case-insensitively).
MATCHING_FIELDS = {
    ContactMatching.EMAIL: (),
    ContactMatching.EMAIL_LAST_NAME: ("last_name",),
    ContactMatching.EMAIL_FULL_NAME: ("first_name", "last_name"),
}

ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "div", "em", "figure", "figcaption", "h1", "h2", "h3",
    "h4", "h5", "h6", "hr", "i", "img", "li", "ol", "p", "pre", "section", "small", "span", "strong",
    "sub", "sup", "table", "tbody", "td", "th", "thead", "tr", "u", "ul",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan"},
    "*": {"class"},
}


def content_sanitize(html: str) -> str:
    """Landing-page HTML with scripts, styles, event handlers and javascript: URLs removed."""
    return nh3.clean(
        html or "",
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer",
    )


# --- Pages -----------------------------------------------------------------------------------------------


def _fields_replace(*, page: LandingPage, fields: list[dict]) -> None:
    page.fields.all().delete()
    FormField.objects.bulk_create(
        [FormField(page=page, **{"position": index, **data}) for index, data in enumerate(fields)]
    )


@transaction.atomic
def landing_page_create(*, data: dict, fields: list[dict], created_by=None) -> LandingPage:
    page = LandingPage(**data, created_by=created_by)
    page.content = content_sanitize(page.content)
    page.save()
    _fields_replace(page=page, fields=fields)
    return page


@transaction.atomic
def landing_page_update(*, page: LandingPage, data: dict, fields: list[dict] | None = None) -> LandingPage:
    for name, value in data.items():
        setattr(page, name, value)
    page.content = content_sanitize(page.content)
    page.save()
    if fields is not None:
        _fields_replace(page=page, fields=fields)
    return page


def preferences_url_builder():
    """A function contact -> absolute link to its subscription center. The route is reversed once
    (that is most of the cost of one link), so a batch of emails reuses one builder and only makes
    each contact's token. Takes anything with the contact's `pk` and `email`."""
    marker = "preferences-token-marker"
    route = settings.SITE_URL.rstrip("/") + reverse("landing:preferences", args=[marker])
    head, _, tail = route.partition(marker)

    def build(contact) -> str:
        return f"{head}{contact_token_make(contact=contact, purpose=PURPOSE_PREFERENCES)}{tail}"

    return build


def preferences_url(*, contact: Contact) -> str:
    """Absolute link to the contact's subscription center (for emails and journeys)."""
    return preferences_url_builder()(contact)


@transaction.atomic
def subscription_preferences_save(
    *, contact: Contact, bulk_email: bool, subscribed_list_ids: set[int], source: str, ip_address: str | None
) -> list:
    """Apply the subscription center's form: bulk-email consent and each list it shows, all or nothing."""
    changes = consent.contact_preferences_update(
        contact=contact, changes={"do_not_bulk_email": not bulk_email}, source=source, ip_address=ip_address
    )
    for subscription_list in subscription_lists_for_contact(contact=contact):
        wanted = subscription_list.pk in subscribed_list_ids
        if wanted != subscription_list.subscribed:
            change = consent.list_subscription_set(
                contact=contact,
                subscription_list=subscription_list,
                subscribed=wanted,
                source=source,
                ip_address=ip_address,
            )
            changes.append(change)
    return changes


# --- Submissions -----------------------------------------------------------------------------------------


def submission_store(
    *, page: LandingPage, payload: dict, ip_address: str | None, user_agent: str, spam: bool = False
) -> FormSubmission:
    """Keep the raw submission, committed on its own before any processing."""
    with transaction.atomic(durable=True):
        return FormSubmission.objects.create(
            page=page,
            payload=payload,
            received_at=timezone.now(),
            ip_address=ip_address,
            user_agent=(user_agent or "")[:500],
            status=SubmissionStatus.SPAM if spam else SubmissionStatus.PENDING,
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
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT set_config('lock_timeout', %s, true)", [f"{settings.LANDING_LOCK_TIMEOUT_MS}ms"]
            )


def _process_locked(submission: FormSubmission) -> None:
    page = submission.page
    form = LandingForm(form_data(submission.payload), page=page)
    if not form.is_valid():
        submission.status = SubmissionStatus.INVALID
        submission.errors = form_errors(form)
        return
    contact_values = form.mapped("contact")
    lead_values = form.mapped("lead")
    email = contact_values.pop("email")

    contact, created = contact_get_or_create_by_email(
        email=email, defaults={**contact_values, "origin": ContactOrigin.LANDING_PAGE}
    )
    # Concurrent submissions of one person queue here, so lead matching sees the other's lead.
    contact = (
        Contact.objects.select_for_update(of=("self",)).select_related("parent_account").get(pk=contact.pk)
    )
    if not created and not _names_match(contact, contact_values, page.contact_matching):
        # The email belongs to someone the strategy does not recognise: touch nobody's record.
        lead = lead_create(**_new_lead_data(page=page, contact=None, email=email, lead_values=lead_values))
        submission.outcome = SubmissionOutcome.UNMATCHED
        submission.lead = lead
        return

    changed = {name: value for name, value in contact_values.items() if getattr(contact, name) != value}
    if changed:
        contact = contact_update(contact=contact, consent_source=ConsentSource.LANDING_PAGE, **changed)
    if form.consent_given and contact.consent_level < page.consent_level:
        consent.contact_preferences_update(
            contact=contact,
            changes={"consent_level": page.consent_level},
            source=ConsentSource.LANDING_PAGE,
            ip_address=submission.ip_address,
        )

    lead = _find_open_lead(contact=contact, page=page)
    if lead is None:
        lead = lead_create(**_new_lead_data(page=page, contact=contact, email=email, lead_values=lead_values))
    else:
        updates = {name: value for name, value in lead_values.items() if getattr(lead, name) != value}
        if updates:
            lead_update(lead=lead, **updates)

    submission.interaction = interaction_record(
        contact_id=contact.pk,
        kind=InteractionKind.FORM_SUBMIT,
        occurred_at=submission.received_at,
        properties={
            "form": page.slug,
            "page": page.title,
            "landing_page_id": page.pk,
            "url": page.get_absolute_url(),
            "submission_id": submission.pk,
            "lead_id": lead.pk,
            "topic": page.lead_topic,
        },
    )
    submission.outcome = SubmissionOutcome.NEW_CONTACT if created else SubmissionOutcome.MATCHED_CONTACT
    submission.contact = contact
    submission.lead = lead


def submission_process(*, submission_id: int) -> FormSubmission:
    """Process a stored submission; all or nothing, and a no-op once it is processed, invalid or spam.

    Raises whatever went wrong (the caller records it with `submission_failure_record`).
    """
    with transaction.atomic():
        submission = (
            FormSubmission.objects.select_for_update(of=("self",))
            .select_related("page")
            .get(pk=submission_id)
        )
        if submission.status not in (SubmissionStatus.PENDING, SubmissionStatus.FAILED):
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


def submission_failure_record(*, submission_id: int, error: BaseException, schedule_retry: bool) -> None:
    """Mark the submission failed with its error (it stays stored) and, if asked, queue the retry task."""
    from .tasks import submission_process_task

    with transaction.atomic():
        FormSubmission.objects.filter(
            pk=submission_id, status__in=[SubmissionStatus.PENDING, SubmissionStatus.FAILED]
        ).update(
            status=SubmissionStatus.FAILED,
            error=f"{type(error).__name__}: {error}"[:5000],
            attempts=F("attempts") + 1,
        )
        if schedule_retry:
            transaction.on_commit(lambda: _enqueue_retry(submission_process_task, submission_id))


def _enqueue_retry(task, submission_id: int) -> None:
    try:
        task.apply_async(args=[submission_id], countdown=settings.LANDING_RETRY_DELAY_SECONDS)
    except Exception:  # broker down: the periodic sweep (submissions_retry_unfinished) will find it
        logger.exception("could not queue the retry of submission %s", submission_id)


def submission_receive(*, submission: FormSubmission) -> FormSubmission:
    """Process a just-stored submission now; on failure keep it, record why and queue its retry."""
    if submission.status != SubmissionStatus.PENDING:
        return submission
    try:
        return submission_process(submission_id=submission.pk)
    except Exception as exc:
        logger.exception("processing submission %s failed; it is kept and will be retried", submission.pk)
        submission_failure_record(submission_id=submission.pk, error=exc, schedule_retry=True)
        submission.refresh_from_db()
        return submission


def submissions_unfinished_ids(*, older_than_seconds: int, limit: int = 1000) -> list[int]:
    cutoff = timezone.now() - timedelta(seconds=older_than_seconds)
    return list(
        FormSubmission.objects.filter(
            status__in=[SubmissionStatus.PENDING, SubmissionStatus.FAILED], received_at__lt=cutoff
        )
        .order_by("received_at")
        .values_list("pk", flat=True)[:limit]
    )
