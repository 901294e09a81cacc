"""The duplicate finder's reasons and its pair (crm_core/services/duplicate_scan.py has the rules)."""

from dataclasses import dataclass

REASONS = {
    "lead_email": "A lead of one has the other's email",
    "same_name_account": "Same name at the same account",
    "email_other_domain": "Same email name at another domain",
    "email_similar": "Same email but for dots, hyphens or underscores",
}


@dataclass(frozen=True)
class DuplicatePair:
    a_id: int
    b_id: int
    reasons: tuple[str, ...]
