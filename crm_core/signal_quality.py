"""Which recorded interactions may score: repeats and machine traffic are kept but marked.

Every open, click and form submission is recorded (reports and journeys see them all); the ones that
must not move a score carry `properties["unscored"]` = the reason, and lead scoring skips them. The
reasons:
- `repeat`: the same contact already has a counted interaction of this kind for the same message
  (or form page) within `SCORING_REPEAT_WINDOW_SECONDS`, so replaying a link or a form counts once;
- `machine`: a click within `TRACKING_MACHINE_CLICK_SECONDS` of delivery, or a request whose
  User-Agent names a known link scanner (`TRACKING_SCANNER_AGENTS`): no person clicks that fast.
Callers hold a lock that serialises the decision per message or person (the outbox row, the contact
row), so two concurrent replays cannot both be counted.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings

from .models import Interaction

UNSCORED = "unscored"
REPEAT = "repeat"
MACHINE = "machine"
OVER_CAP = "over_cap"
REASONS = {
    REPEAT: "repeated within the counting window",
    MACHINE: "machine traffic (link scanner or too soon after delivery)",
    OVER_CAP: "over the rule's cap",
}


def repeat_window() -> timedelta:
    return timedelta(seconds=settings.SCORING_REPEAT_WINDOW_SECONDS)


def is_repeat(*, contact_id: int, kind: str, occurred_at: datetime, same: dict) -> bool:
    """True when a counted interaction of `kind` with the properties `same` lies within the window."""
    window = repeat_window()
    return (
        Interaction.objects.filter(
            contact_id=contact_id,
            kind=kind,
            occurred_at__gte=occurred_at - window,
            occurred_at__lte=occurred_at + window,
            **{f"properties__{name}": value for name, value in same.items()},
        )
        .exclude(properties__has_key=UNSCORED)
        .exists()
    )


def is_scanner(user_agent: str | None) -> bool:
    agent = (user_agent or "").casefold()
    return any(marker.casefold() in agent for marker in settings.TRACKING_SCANNER_AGENTS)


def is_machine_click(*, user_agent: str | None, delivered_at: datetime | None, now: datetime) -> bool:
    """A scanner's agent, or a click sooner after delivery than a person could read the email."""
    if is_scanner(user_agent):
        return True
    too_soon = timedelta(seconds=settings.TRACKING_MACHINE_CLICK_SECONDS)
    return delivered_at is not None and now - delivered_at < too_soon


def unscored_reason(
    *, contact_id: int, kind: str, occurred_at: datetime, same: dict, machine: bool = False
) -> str | None:
    """The reason this new interaction must not score, or None when it counts."""
    if machine:
        return MACHINE
    if is_repeat(contact_id=contact_id, kind=kind, occurred_at=occurred_at, same=same):
        return REPEAT
    return None


def mark(properties: dict, reason: str | None) -> dict:
    return {**properties, UNSCORED: reason} if reason else properties
