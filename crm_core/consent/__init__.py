"""The one place that decides whether a contact may get marketing email or be tracked, and records changes.

Reads come in two shapes that always agree (a test holds them to it), in `rules`:
- per contact, with the reason when not allowed: `marketing_email_decision`, `tracking_decision`;
- set-based, as a `Q` over contacts for journeys and segments at a million rows:
  `marketing_email_allowed_q`, `tracking_allowed_q`.

Writes change a preference or a list subscription and add one `ConsentChange` row per changed
value, with time and source: for one contact in `changes` (`contact_preferences_update`,
`list_subscription_set`, the double opt-in `consent_increase_request` / `consent_increase_confirm`)
or set-based for many in `bulk` (`contacts_field_set`, `list_memberships_set`, a few statements
whatever the batch size, as journeys need). Every write announces what it changed with
`crm_core.events.records_changed_on_commit`.

Rules for marketing email: the contact has an email; not `do_not_email`; not
`do_not_bulk_email`; `consent_level` at least the required minimum; a minor only
with a guardian's consent; and, for a list, not unsubscribed from it (or, with
`require_subscription`, subscribed to it). Tracking: `track_email` on,
`consent_level` at least TRACKING, and a minor only with a guardian's consent.

Callers use the package (`from crm_core import consent; consent.marketing_email_decision(...)`).
"""

from .bulk import BULK_SETTABLE_PROFILE_FIELDS, contacts_field_set, list_memberships_set
from .changes import (
    PREFERENCE_FIELDS,
    consent_increase_confirm,
    consent_increase_request,
    contact_preferences_update,
    list_subscription_set,
)
from .rules import (
    ALLOWED,
    CONSENT_TOO_LOW,
    DEFAULT_MARKETING_MINIMUM,
    DO_NOT_BULK_EMAIL,
    DO_NOT_EMAIL,
    MINOR_WITHOUT_GUARDIAN_CONSENT,
    NO_EMAIL,
    NOT_SUBSCRIBED_TO_LIST,
    REASONS,
    TRACKING_FIELDS,
    TRACKING_MINIMUM,
    TRACKING_OFF,
    UNSUBSCRIBED_FROM_LIST,
    Decision,
    marketing_email_allowed_q,
    marketing_email_block_reasons,
    marketing_email_decision,
    tracking_allowed_q,
    tracking_decision,
)

__all__ = [
    "ALLOWED",
    "BULK_SETTABLE_PROFILE_FIELDS",
    "CONSENT_TOO_LOW",
    "DEFAULT_MARKETING_MINIMUM",
    "DO_NOT_BULK_EMAIL",
    "DO_NOT_EMAIL",
    "MINOR_WITHOUT_GUARDIAN_CONSENT",
    "NOT_SUBSCRIBED_TO_LIST",
    "NO_EMAIL",
    "PREFERENCE_FIELDS",
    "REASONS",
    "TRACKING_FIELDS",
    "TRACKING_MINIMUM",
    "TRACKING_OFF",
    "UNSUBSCRIBED_FROM_LIST",
    "Decision",
    "consent_increase_confirm",
    "consent_increase_request",
    "contact_preferences_update",
    "contacts_field_set",
    "list_memberships_set",
    "list_subscription_set",
    "marketing_email_allowed_q",
    "marketing_email_block_reasons",
    "marketing_email_decision",
    "tracking_allowed_q",
    "tracking_decision",
]
