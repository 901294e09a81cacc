"""The CRM records marketing and sales share, one module per group of entities:

- `base`: the abstract timestamps and the who-made-it fields every record has;
- `people`: accounts and contacts (with the choices that describe them);
- `leads`: leads and their lifecycle trail (`LeadStatusChange`);
- `opportunities`: opportunities;
- `activity`: interactions and event registrations (what contacts did);
- `subscriptions`: subscription lists, memberships and the consent trail (`ConsentChange`);
- `system`: the audit log and the workflow switches;
- `merges`: merged-away contact ids and the contact each was merged into;
- `duplicates`: the duplicate detection job's candidate pairs and its runs;
- `imports`: import jobs (an uploaded file, its mapping, progress and report) and remembered mappings;
- `custom`: the definitions of custom fields (their values live in each record's `custom` column);
- `counts`: records counted by creation day (the dashboard's numbers), kept by triggers.

Import them from here (`from crm_core.models import Contact`): the modules are how the code is
filed, not part of the names other code uses.
"""

from .activity import Event, EventRegistration, Interaction, InteractionKind
from .base import RecordModel, TimestampedModel
from .counts import SCORE_BUCKETS, CountedEntity, RecordCount
from .custom import CustomField, CustomFieldEntity, CustomFieldType
from .duplicates import DuplicateCandidate, DuplicateScan, DuplicateScanState
from .imports import ImportEntity, ImportJob, ImportMapping, ImportStatus, KnownEmail
from .leads import IdentityStatus, Lead, LeadSource, LeadStatus, LeadStatusChange
from .merges import MergedContact
from .opportunities import Opportunity, OpportunityStage, OpportunityStatus
from .people import Account, ConsentLevel, Contact, ContactOrigin, Industry, JobRole
from .subscriptions import (
    ConsentChange,
    ConsentSource,
    ListMembership,
    SubscriptionList,
    SubscriptionStatus,
)
from .system import AuditLog, WorkflowSettings

__all__ = [
    "SCORE_BUCKETS",
    "CountedEntity",
    "RecordCount",
    "Account",
    "AuditLog",
    "ConsentChange",
    "ConsentLevel",
    "ConsentSource",
    "Contact",
    "ContactOrigin",
    "CustomField",
    "CustomFieldEntity",
    "CustomFieldType",
    "DuplicateCandidate",
    "DuplicateScan",
    "DuplicateScanState",
    "Event",
    "EventRegistration",
    "IdentityStatus",
    "ImportEntity",
    "ImportJob",
    "ImportMapping",
    "ImportStatus",
    "Industry",
    "Interaction",
    "InteractionKind",
    "JobRole",
    "KnownEmail",
    "Lead",
    "LeadSource",
    "LeadStatus",
    "LeadStatusChange",
    "ListMembership",
    "MergedContact",
    "Opportunity",
    "OpportunityStage",
    "OpportunityStatus",
    "RecordModel",
    "SubscriptionList",
    "SubscriptionStatus",
    "TimestampedModel",
    "WorkflowSettings",
]
