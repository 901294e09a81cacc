"""Writes of the landing app: pages, the subscription center, and the life of a submission.

A submission is stored in a transaction of its own before anything else (`intake`), so nothing
that goes wrong later can lose it. Processing (`processing`) is a second transaction that locks
the submission row and does everything or nothing: the contact upsert, the mapped field updates,
the consent (`confirmation`: at once, or pending until the person confirms by email), the lead
and the `form_submit` interaction. A failure is kept on the submission and retried (`retries`);
running processing twice is harmless: a processed submission is left alone.

- `definitions`: the one check of a page's form (can it identify a contact?).
- `pages`: saving pages and their forms (checked, content sanitised).
- `preferences`: the subscription center's links and form.
- `intake`: storing a post (and the posts spooled during a database outage), then processing it.
- `processing`: a stored submission into contact, lead and interaction.
- `confirmation`: consent raised by a post, and the double opt-in email.
- `retries`: failures, the queued retry (`landing.submission_process`), re-queueing and the sweep.

Callers import from the package (`from landing.services import submission_store`).
"""

from .confirmation import consent_confirmation_send
from .definitions import (
    EMAIL_FIELD_MISSING,
    FIELD_ATTRIBUTES,
    MATCHING_FIELDS,
    DefinitionProblem,
    LandingPageInvalid,
    landing_form_problems,
    page_field_rows,
)
from .intake import spool_drain, submission_receive, submission_store, submission_store_spooled
from .pages import content_sanitize, landing_page_create, landing_page_update
from .preferences import preferences_url, preferences_url_builder, subscription_preferences_save
from .processing import (
    OPEN_LEAD_STATUSES,
    UNFINISHED_STATUSES,
    SubmissionPermanentError,
    submission_process,
)
from .retries import (
    REQUEUE_AT_ONCE,
    SUBMISSION_PROCESS_TASK,
    processing_enqueue,
    submission_failure_record,
    submissions_requeue,
    submissions_unfinished_ids,
)

__all__ = [
    "EMAIL_FIELD_MISSING",
    "FIELD_ATTRIBUTES",
    "MATCHING_FIELDS",
    "OPEN_LEAD_STATUSES",
    "REQUEUE_AT_ONCE",
    "SUBMISSION_PROCESS_TASK",
    "UNFINISHED_STATUSES",
    "DefinitionProblem",
    "LandingPageInvalid",
    "SubmissionPermanentError",
    "consent_confirmation_send",
    "content_sanitize",
    "landing_form_problems",
    "landing_page_create",
    "landing_page_update",
    "page_field_rows",
    "preferences_url",
    "preferences_url_builder",
    "processing_enqueue",
    "spool_drain",
    "submission_failure_record",
    "submission_process",
    "submission_receive",
    "submission_store",
    "submission_store_spooled",
    "submissions_requeue",
    "submissions_unfinished_ids",
    "subscription_preferences_save",
]
