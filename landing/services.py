"""Writes of the landing app: pages, and the life of a submission (store, process, retry).

A submission is stored in a transaction of its own before anything else, so
nothing that goes wrong later can lose it. Processing is a second transaction
that locks the submission row and does everything or nothing: the contact
upsert, the mapped field updates, the lead and the `form_submit` interaction.
Running it twice is harmless: a processed submission is left alone.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import NamedTuple

import nh3
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import connection, transaction
from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone

from crm_core import consent, signal_quality
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
    lead_create_identity_conflict,
    lead_update,
)
from crm_core.tokens import (
    PURPOSE_CONSENT_CONFIRM,
    PURPOSE_PREFERENCES,
    PURPOSE_PREFILL,
    ContactTokenError,
    contact_token_make,
    contact_token_read,
)

from .forms import IDENTITY_FIELD, LandingForm, form_data, form_errors
from .models import (
    CONTACT_TARGETS,
    LEAD_TARGETS,
    ContactMatching,
    FieldType,
    FormField,
    FormSubmission,
    LandingPage,
    LeadMatching,
    SubmissionOutcome,
    SubmissionStatus,
)
from .selectors import subscription_lists_for_contact

logger = logging.getLogger(__name__)

# Submissions processing may still take (the retry task and the periodic sweep look for these).
UNFINISHED_STATUSES = (SubmissionStatus.PENDING, SubmissionStatus.RETRYING)

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


# --- Page definitions ------------------------------------------------------------------------------


class DefinitionProblem(NamedTuple):
    """One reason a page's form could not turn submissions into a contact and a lead.

    `row`: index of the form field at fault (None: the form as a whole); `attribute`: the form
    field's attribute at fault, or, with no row, the page's (None: the form's fields together).
    """

    message: str
    row: int | None = None
    attribute: str | None = None


class LandingPageInvalid(ValidationError):
    """A page definition refused by `landing_form_problems`; `problems` says where and why."""

    def __init__(self, problems: list[DefinitionProblem]):
        super().__init__([p.message for p in problems])
        self.problems = problems


EMAIL_FIELD_MISSING = (
    "The form needs a required email field mapped to the contact's email: "
    "without it no submission can become a contact."
)


def _row_problems(index: int, field: Mapping, seen: dict[str, set]) -> list[DefinitionProblem]:
    problems = []
    name = field.get("name")
    if name in seen["name"]:
        problems.append(DefinitionProblem("Another form field already has this name.", index, "name"))
    seen["name"].add(name)
    for attribute, targets, what in (
        ("contact_field", CONTACT_TARGETS, "contact"),
        ("lead_field", LEAD_TARGETS, "lead"),
    ):
        target = field.get(attribute) or ""
        if not target:
            continue
        if target not in targets:
            problems.append(DefinitionProblem(f"A {what} has no field “{target}”.", index, attribute))
        elif target in seen[attribute]:
            message = f"Another form field already sets the {what}'s {target}."
            problems.append(DefinitionProblem(message, index, attribute))
        elif field.get("field_type") == FieldType.CHECKBOX:
            message = f"A checkbox gives only yes or no; it cannot set the {what}'s {target}."
            problems.append(DefinitionProblem(message, index, attribute))
        seen[attribute].add(target)
    if field.get("field_type") == FieldType.CHOICE and not field.get("choices"):
        problems.append(DefinitionProblem("A choice field needs at least one choice.", index, "choices"))
    return problems


def _email_problems(fields: Sequence[Mapping]) -> list[DefinitionProblem]:
    rows = [index for index, field in enumerate(fields) if field.get("contact_field") == "email"]
    if not rows:
        return [DefinitionProblem(EMAIL_FIELD_MISSING)]
    field, problems = fields[rows[0]], []
    if not field.get("required"):
        message = "The field mapped to the contact's email must be required: it identifies the contact."
        problems.append(DefinitionProblem(message, rows[0], "required"))
    if field.get("field_type") != FieldType.EMAIL:
        message = "The field mapped to the contact's email must be of type Email."
        problems.append(DefinitionProblem(message, rows[0], "field_type"))
    return problems


def _matching_problems(fields: Sequence[Mapping], contact_matching: str) -> list[DefinitionProblem]:
    if contact_matching not in MATCHING_FIELDS:
        return [DefinitionProblem("Unknown contact matching.", None, "contact_matching")]
    mapped = {field.get("contact_field") for field in fields}
    missing = [name for name in MATCHING_FIELDS[contact_matching] if name not in mapped]
    if not missing:
        return []
    message = f"This contact matching needs a form field mapped to the contact's {' and '.join(missing)}."
    return [DefinitionProblem(message, None, "contact_matching")]


def landing_form_problems(*, fields: Sequence[Mapping], contact_matching: str) -> list[DefinitionProblem]:
    """Why a form with these fields (dicts of FormField attributes) could not identify a contact
    or would write to fields that do not exist; empty when it is sound.

    The one check of a page definition: the editor, the API, the admin and the services use it,
    and processing refuses a stored page that fails it (a permanent failure, not retried).
    """
    seen: dict[str, set] = {"name": set(), "contact_field": set(), "lead_field": set()}
    problems = [p for index, field in enumerate(fields) for p in _row_problems(index, field, seen)]
    return problems + _email_problems(fields) + _matching_problems(fields, contact_matching)


FIELD_ATTRIBUTES = ("name", "field_type", "required", "choices", "contact_field", "lead_field")


def page_field_rows(page_fields: Sequence[FormField]) -> list[dict]:
    """Stored form fields as the dicts `landing_form_problems` reads."""
    return [{name: getattr(field, name) for name in FIELD_ATTRIBUTES} for field in page_fields]


def _check_definition(*, page: LandingPage, fields: Sequence[Mapping]) -> None:
    problems = landing_form_problems(fields=fields, contact_matching=page.contact_matching)
    if problems:
        raise LandingPageInvalid(problems)


# --- Pages -----------------------------------------------------------------------------------------------


def _fields_replace(*, page: LandingPage, fields: list[dict]) -> None:
    page.fields.all().delete()
    FormField.objects.bulk_create(
        [FormField(page=page, **{"position": index, **data}) for index, data in enumerate(fields)]
    )


@transaction.atomic
def landing_page_create(*, data: dict, fields: list[dict], created_by=None) -> LandingPage:
    """Create a page and its form; LandingPageInvalid (nothing saved) if the form is unsound."""
    page = LandingPage(**data, created_by=created_by)
    _check_definition(page=page, fields=fields)
    page.content = content_sanitize(page.content)
    page.save()
    _fields_replace(page=page, fields=fields)
    return page


@transaction.atomic
def landing_page_update(*, page: LandingPage, data: dict, fields: list[dict] | None = None) -> LandingPage:
    """Change a page (and replace its form when `fields` is given); LandingPageInvalid (nothing
    saved) if the result is unsound, so a live page always identifies its contacts."""
    for name, value in data.items():
        setattr(page, name, value)
    _check_definition(page=page, fields=fields if fields is not None else page_field_rows(page.fields.all()))
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


def submission_store_spooled(*, record: dict) -> FormSubmission | None:
    """Store a post the spool kept during a database outage (landing.spool), once, and queue it.

    The spool id travels in the payload, so a post stored before its file was removed is found and
    not stored again. A post whose page is gone or no longer live is dropped with a log line.
    """
    from .abuse import form_token_valid
    from .spool import SPOOL_ID
    from .tasks import submission_process_task

    payload = {**record["payload"], SPOOL_ID: record[SPOOL_ID]}
    if FormSubmission.objects.filter(**{f"payload__{SPOOL_ID}": record[SPOOL_ID]}).exists():
        return None
    page = LandingPage.objects.filter(slug=record["slug"]).first()
    if page is None:
        logger.error("spooled post %s names no page %r; dropped", record[SPOOL_ID], record["slug"])
        return None
    if record.get("token") is not None and not form_token_valid(page=page, token=record["token"]):
        record = {**record, "spam": True}  # kept for review, never processed: the form token was bad
    with transaction.atomic(durable=True):
        submission = FormSubmission.objects.create(
            page=page,
            payload=payload,
            received_at=record["received_at"],
            ip_address=record.get("ip_address"),
            user_agent=record.get("user_agent", "")[:500],
            status=SubmissionStatus.SPAM if record.get("spam") else SubmissionStatus.PENDING,
        )
    if submission.status == SubmissionStatus.PENDING:
        _enqueue_retry(submission_process_task, submission.pk, 0)
    return submission


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


class SubmissionPermanentError(Exception):
    """Processing cannot succeed until someone changes something (the page's form): not retried."""


def _check_page_processable(page: LandingPage, page_fields: Sequence[FormField]) -> None:
    problems = landing_form_problems(
        fields=page_field_rows(page_fields), contact_matching=page.contact_matching
    )
    if problems:
        details = " ".join(p.message for p in problems)
        raise SubmissionPermanentError(f"The form of page “{page.slug}” cannot identify a contact: {details}")


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

    contact, created = contact_get_or_create_by_email(
        email=email, defaults={**contact_values, "origin": ContactOrigin.LANDING_PAGE}
    )
    # Concurrent submissions of one person queue here, so lead matching sees the other's lead.
    contact = (
        Contact.objects.select_for_update(of=("self",)).select_related("parent_account").get(pk=contact.pk)
    )
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
    changed = _contact_changes(
        contact, contact_values, overwrite=identified and page.identified_visitors_update
    )
    if changed:
        contact = contact_update(contact=contact, consent_source=ConsentSource.LANDING_PAGE, **changed)
    if form.consent_given and contact.consent_level < page.consent_level:
        _consent_raise(submission, contact, identified=identified)

    lead = _find_open_lead(contact=contact, page=page)
    if lead is None:
        lead = lead_create(**_new_lead_data(page=page, contact=contact, email=email, lead_values=lead_values))
    else:
        updates = {name: value for name, value in lead_values.items() if getattr(lead, name) != value}
        if updates:
            lead_update(lead=lead, **updates)

    submission.interaction = _form_submit_record(submission, contact=contact, lead=lead)
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


def _consent_raise(submission: FormSubmission, contact: Contact, *, identified: bool) -> None:
    """Raise consent at once for a new or identified person; else hold it until they confirm."""
    page = submission.page
    if identified:
        consent.contact_preferences_update(
            contact=contact,
            changes={"consent_level": page.consent_level},
            source=ConsentSource.LANDING_PAGE,
            ip_address=submission.ip_address,
        )
    elif consent.consent_increase_request(contact=contact, level=page.consent_level):
        contact_id = contact.pk
        transaction.on_commit(lambda: consent_confirmation_send(contact_id=contact_id))


def consent_confirmation_send(*, contact_id: int) -> None:
    """Email the person a signed link to confirm a pending consent increase (double opt-in).

    A lost email only leaves the increase pending; the person can ask again by posting the form.
    """
    contact = Contact.objects.filter(pk=contact_id, pending_consent_level__isnull=False).first()
    if contact is None or not contact.email:
        return
    token = contact_token_make(contact=contact, purpose=PURPOSE_CONSENT_CONFIRM)
    url = settings.SITE_URL.rstrip("/") + reverse("landing:consent-confirm", args=[token])
    try:
        send_mail(
            "Please confirm your email preferences",
            "Someone (we hope you) asked us to send you more email. If it was you, confirm here:\n"
            f"{url}\n\nIf it was not you, ignore this email: nothing changes.",
            None,
            [contact.email],
        )
    except Exception:
        logger.exception("could not send the consent confirmation to contact %s", contact_id)


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
            .select_related("page")
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


def submission_failure_record(
    *, submission_id: int, error: BaseException, schedule_retry: bool
) -> str | None:
    """Record a failed attempt; the submission stays stored with its error.

    While attempts are left (LANDING_MAX_ATTEMPTS) and the error may pass, it is `retrying` (and
    the retry task is queued if asked); a permanent error or the last attempt makes it `failed`,
    which nothing retries until a marketer re-queues it. Returns the new status (None when the
    submission was no longer unfinished).
    """
    from .tasks import submission_process_task

    with transaction.atomic():
        submission = (
            FormSubmission.objects.select_for_update()
            .filter(pk=submission_id, status__in=UNFINISHED_STATUSES)
            .first()
        )
        if submission is None:
            return None
        submission.attempts += 1
        submission.error = f"{type(error).__name__}: {error}"[:5000]
        permanent = isinstance(error, SubmissionPermanentError)
        if permanent or submission.attempts >= settings.LANDING_MAX_ATTEMPTS:
            submission.status = SubmissionStatus.FAILED
            logger.error("submission %s failed for good: %s", submission_id, submission.error)
        else:
            submission.status = SubmissionStatus.RETRYING
            if schedule_retry:
                transaction.on_commit(lambda: _enqueue_retry(submission_process_task, submission_id))
        submission.save(update_fields=["attempts", "error", "status"])
    return submission.status


def _enqueue_retry(task, submission_id: int, countdown: int | None = None) -> None:
    try:
        task.apply_async(
            args=[submission_id],
            countdown=settings.LANDING_RETRY_DELAY_SECONDS if countdown is None else countdown,
        )
    except Exception:  # broker down: the periodic sweep (submissions_retry_unfinished) will find it
        logger.exception("could not queue the processing of submission %s", submission_id)


REQUEUE_AT_ONCE = 1000


def submissions_requeue(*, submissions: QuerySet[FormSubmission]) -> int:
    """Send the failed ones among `submissions` through processing again (after their page was
    fixed, say): back to pending with a fresh count of attempts, queued after commit. Processing
    is idempotent, so queueing one twice is harmless; past REQUEUE_AT_ONCE the sweep takes the rest.
    Returns how many were re-queued."""
    from .tasks import submission_process_task

    with transaction.atomic():
        ids = list(submissions.filter(status=SubmissionStatus.FAILED).order_by().values_list("pk", flat=True))
        FormSubmission.objects.filter(pk__in=ids, status=SubmissionStatus.FAILED).update(
            status=SubmissionStatus.PENDING, attempts=0
        )
        first = sorted(ids)[:REQUEUE_AT_ONCE]
        transaction.on_commit(lambda: [_enqueue_retry(submission_process_task, pk, 0) for pk in first])
    return len(ids)


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
        FormSubmission.objects.filter(status__in=UNFINISHED_STATUSES, received_at__lt=cutoff)
        .order_by("received_at")
        .values_list("pk", flat=True)[:limit]
    )
