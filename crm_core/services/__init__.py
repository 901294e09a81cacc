"""Writes to CRM records: every writer of crm_core's tables calls a function of this package.

- `records`: create, change and delete contacts, accounts, leads, opportunities and interactions.
- `lifecycle`: lead status moves (accept, qualify, ...) recorded in `LeadStatusChange`.
- `orphans`: the orphan-lead workflow (a parent contact for every lead without one, set-based;
  the batch in `orphans_sql` on PostgreSQL, `orphans_portable` elsewhere).
- `imports`: bulk lead import; `import_jobs` / `import_run` (with `import_files`, `import_rows`,
  `import_write_sql`, `import_write_portable`): imports of contacts, accounts and leads from CSV or
  XLSX files with a column mapping, run by the task `crm_core.import_run`.
- `identity`: the identity review of leads a landing page could not tie to their known contact.
- `custom_fields`: custom field definitions (their values are written with the records).
- `merge`: merging two contacts (with `merge_moves`); `merge_survivor` resolves a merged-away id.
- `lists`: subscription lists (their memberships are consent: `crm_core.consent`).
- `scores`: lead scoring's writes to leads (scores, the sales-ready hand-off, the return to nurture),
  set-based from SQL the caller passes (`SqlRows`) or from rows on the portable path.
- `record_counts`: folding the per-day record counts' deltas (PostgreSQL triggers write them).
Consent preferences and list memberships are written by `crm_core.consent`.
"""

from .custom_fields import CustomFieldInUse, custom_field_create, custom_field_delete, custom_field_update
from .duplicate_scan import (
    duplicate_dismiss,
    duplicates_forget_contact,
    duplicates_scan_request,
    duplicates_scan_run,
)
from .event_registrations import (
    event_create,
    event_delete,
    event_register,
    event_update,
    registration_attend,
    registration_delete,
    registration_save,
)
from .identity import (
    IdentityReviewError,
    lead_create_identity_conflict,
    lead_identity_dismiss,
    lead_identity_link,
)
from .imports import (
    LEAD_IMPORT_FIELDS,
    LEAD_IMPORT_MAX_ROWS,
    LeadImportInvalid,
    LeadImportResult,
    lead_bulk_import,
    lead_import_clean,
)
from .lifecycle import (
    LEAD_TRANSITIONS,
    LeadTransitionError,
    lead_accept,
    lead_assign,
    lead_disqualify,
    lead_mark_marketing_qualified,
    lead_qualify,
    lead_return_to_marketing,
)
from .lists import subscription_list_create, subscription_list_update
from .merge import ACTION_MERGE, contacts_merge, merge_survivor
from .orphans import (
    LINK_ORPHAN_LEADS_TASK,
    ORPHAN_LINK_BATCH_SIZE,
    OrphanLinkResult,
    lead_link_orphans,
    lead_schedule_orphan_link,
)
from .record_counts import record_counts_compact
from .records import (
    LEAD_EDITABLE_FIELDS,
    account_create,
    account_delete,
    account_update,
    contact_create,
    contact_delete,
    contact_get_or_create_by_email,
    contact_update,
    interaction_delete,
    interaction_record,
    interaction_update,
    interactions_insert_from,
    interactions_record,
    lead_create,
    lead_delete,
    lead_update,
    opportunity_create,
    opportunity_delete,
    opportunity_update,
    records_delete,
)
from .scores import (
    leads_hand_off,
    leads_return_to_nurture,
    leads_scores_apply,
)
from .sql import SqlRows

__all__ = [
    "ACTION_MERGE",
    "contacts_merge",
    "duplicate_dismiss",
    "duplicates_forget_contact",
    "duplicates_scan_request",
    "duplicates_scan_run",
    "merge_survivor",
    "CustomFieldInUse",
    "custom_field_create",
    "custom_field_delete",
    "custom_field_update",
    "record_counts_compact",
    "event_create",
    "event_delete",
    "event_register",
    "event_update",
    "LEAD_EDITABLE_FIELDS",
    "LEAD_IMPORT_FIELDS",
    "LEAD_IMPORT_MAX_ROWS",
    "LEAD_TRANSITIONS",
    "LINK_ORPHAN_LEADS_TASK",
    "ORPHAN_LINK_BATCH_SIZE",
    "IdentityReviewError",
    "LeadImportInvalid",
    "LeadImportResult",
    "LeadTransitionError",
    "OrphanLinkResult",
    "SqlRows",
    "account_create",
    "account_delete",
    "account_update",
    "contact_create",
    "contact_delete",
    "contact_get_or_create_by_email",
    "contact_update",
    "interaction_delete",
    "interaction_record",
    "interaction_update",
    "interactions_insert_from",
    "interactions_record",
    "lead_accept",
    "lead_assign",
    "lead_bulk_import",
    "lead_create",
    "lead_create_identity_conflict",
    "lead_delete",
    "lead_disqualify",
    "lead_identity_dismiss",
    "lead_identity_link",
    "lead_import_clean",
    "lead_link_orphans",
    "lead_mark_marketing_qualified",
    "lead_qualify",
    "lead_return_to_marketing",
    "lead_schedule_orphan_link",
    "lead_update",
    "leads_hand_off",
    "leads_return_to_nurture",
    "leads_scores_apply",
    "opportunity_create",
    "opportunity_delete",
    "opportunity_update",
    "records_delete",
    "registration_attend",
    "registration_delete",
    "registration_save",
    "subscription_list_create",
    "subscription_list_update",
]
