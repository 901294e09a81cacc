"""Sales' side of the scoring hand-off: each owner gets a call task, a notification and one email.

Lead scoring (below sales) announces the leads it handed off with `leadscoring.events.leads_handed_off`,
sent inside the recompute's transaction; sales/apps.py subscribes with `handoff_follow_up`. So the
tasks and notifications commit or roll back with the hand-off itself, and the email goes after commit.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable
from datetime import timedelta
from typing import TYPE_CHECKING

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMessage, get_connection
from django.db import transaction
from django.urls import reverse

from crm_core.models import Lead
from crm_core.services.sql import SqlRows

from ..models import TaskSource
from .notification import users_wanting_email
from .task import TaskTarget, tasks_create

if TYPE_CHECKING:
    from leadscoring.events import LeadsHandedOff
    from leadscoring.models import ScoringModel

log = logging.getLogger(__name__)

HANDOFF_TASK_TITLE = "Call within 24 h"
HANDOFF_TASK_DUE = timedelta(hours=24)
HANDOFF_EMAIL_MAX_LEADS = 50


def handoff_follow_up(*, handoff: LeadsHandedOff) -> int:
    """The owner's "call within 24 h" task for each lead handed over (with the "lead handed to you"
    notification), inside the hand-off's transaction; after commit one email per owner. Returns the
    tasks made."""
    made = tasks_create(
        title=HANDOFF_TASK_TITLE,
        description="The lead reached the sales-ready score; call within 24 hours.",
        due_at=handoff.now + HANDOFF_TASK_DUE,
        source=TaskSource.HANDOFF,
        targets=_task_targets(handoff.owner_leads),
        now=handoff.now,
    )
    handoff_emails_on_commit(handoff.owner_lead_rows(), model=handoff.model)
    return made


def _task_targets(owner_leads: SqlRows | Iterable[tuple[int, int]]) -> SqlRows | list[TaskTarget]:
    """`tasks_create`'s targets (owner_id, contact_id, lead_id) from the hand-off's (owner_id, lead_id)."""
    if isinstance(owner_leads, SqlRows):
        return SqlRows(
            f"SELECT h.owner_id, NULL::bigint, h.lead_id FROM {owner_leads.relation()} h(owner_id, lead_id)",
            owner_leads.params,
        )
    return [TaskTarget(owner_id=owner_id, lead_id=lead_id) for owner_id, lead_id in owner_leads]


def handoff_emails_on_commit(owner_leads: Iterable[tuple[int, int]], *, model: ScoringModel) -> None:
    """After commit, one email per owner with their leads; `owner_leads`: (owner_id, lead_id), lead order."""
    by_owner: dict[int, list[int]] = defaultdict(list)
    for owner_id, lead_id in owner_leads:
        by_owner[owner_id].append(lead_id)
    if not by_owner:
        return
    model_name = model.name
    transaction.on_commit(lambda: handoff_emails_send(by_owner=dict(by_owner), model_name=model_name))


def handoff_emails_send(*, by_owner: dict[int, list[int]], model_name: str) -> int:
    """One email per owner listing the leads just handed to them (if their settings want hand-off
    emails); returns the emails sent."""
    site = settings.SITE_URL
    wanted = users_wanting_email("handoff", by_owner)
    owners = get_user_model().objects.filter(pk__in=sorted(wanted)).exclude(email="")
    messages = []
    for owner in owners:
        lead_ids = by_owner[owner.pk]
        leads = Lead.objects.filter(pk__in=lead_ids[:HANDOFF_EMAIL_MAX_LEADS]).order_by("pk")
        lines = [
            f"- {lead} (score {lead.score}): {site}{reverse('workspace:lead-detail', args=[lead.pk])}"
            for lead in leads
        ]
        if len(lead_ids) > HANDOFF_EMAIL_MAX_LEADS:
            lines.append(f"... and {len(lead_ids) - HANDOFF_EMAIL_MAX_LEADS} more.")
        count = len(lead_ids)
        subject = f"{count} new sales-ready lead{'s' if count != 1 else ''} for you"
        body = f"Scoring model '{model_name}' handed these leads to you:\n\n" + "\n".join(lines) + "\n"
        messages.append(EmailMessage(subject, body, settings.DEFAULT_FROM_EMAIL, [owner.email]))
    if not messages:
        return 0
    try:
        return get_connection().send_messages(messages) or 0
    except Exception:  # the hand-off is committed; a mail failure must not undo it
        log.exception("could not send %d hand-off email(s)", len(messages))
        return 0
