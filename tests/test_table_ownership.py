"""One owner per table: every INSERT, UPDATE or DELETE on a crm_core table is issued by crm_core's code.

The flows of the other apps that touch CRM records (a journey's steps, sends and tracking, a landing
form, the scoring hand-off) run with a recorder on the database connection; for each write to a CRM
table it finds the innermost project frame that issued it. Any frame outside crm_core is a writer
going around the owning services (and so around their consent trail and change notices).
"""

import re
import traceback
from pathlib import Path

import pytest
from django.apps import apps
from django.conf import settings
from django.core import mail
from django.db import connection
from django.test import Client
from django.utils import timezone

from crm_core.models import ConsentSource, InteractionKind, LeadStatus
from crm_core.tests.factories import (
    ContactFactory,
    LeadFactory,
    ListMembershipFactory,
    SalesRepFactory,
    SubscriptionListFactory,
)
from journeys import services as journey_services
from journeys.tests.factories import SegmentMemberFactory, make_journey, send_email_step
from landing.tests.factories import LandingPageFactory
from landing.tests.utils import submit
from leadscoring.services import scoring_model_recompute
from leadscoring.tests.factories import PrimaryScoringModelFactory, ScoringRuleFactory

pytestmark = pytest.mark.django_db

ROOT = Path(settings.BASE_DIR).resolve()
CRM_TABLES = {model._meta.db_table for model in apps.get_app_config("crm_core").get_models()}
WRITE = re.compile(r'\b(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+"?(crm_core_\w+)"?', re.IGNORECASE)


def _issuer() -> Path | None:
    """The innermost frame of the project's own code (not a library's, not this test's)."""
    for frame in reversed(traceback.extract_stack()):
        path = Path(frame.filename).resolve()
        if path == Path(__file__).resolve() or ".venv" in path.parts or "site-packages" in path.parts:
            continue
        if ROOT in path.parents:
            return path
    return None


class CrmWrites:
    def __init__(self):
        self.writes: list[tuple[str, str]] = []

    def __call__(self, execute, sql, params, many, context):
        for table in WRITE.findall(sql):
            if table in CRM_TABLES:
                issuer = _issuer()
                self.writes.append((table, str(issuer.relative_to(ROOT)) if issuer else "?"))
        return execute(sql, params, many, context)

    def recording(self):
        return connection.execute_wrapper(self)

    def outside_the_owner(self) -> list[tuple[str, str]]:
        return sorted({(t, who) for t, who in self.writes if not who.startswith("crm_core/")})


@pytest.fixture
def crm_writes():
    """Record with `with crm_writes.recording():` around the flow (after the test's own setup)."""
    return CrmWrites()


def test_journey_steps_sends_and_tracking_write_crm_tables_only_through_crm_core(crm_writes, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    newsletter, old = SubscriptionListFactory(), SubscriptionListFactory()
    contact = SegmentMemberFactory(segment_id=1, contact=ContactFactory(consent_level=3)).contact
    ListMembershipFactory(contact=contact, subscription_list=old)
    journey = make_journey(
        steps=[
            send_email_step(),
            {"key": "field", "kind": "update_field", "config": {"field": "country", "value": "France"}},
            {"key": "consent", "kind": "update_field", "config": {"field": "allow_prefill", "value": True}},
            {"key": "join", "kind": "list_add", "config": {"list": newsletter.pk}},
            {"key": "leave", "kind": "list_remove", "config": {"list": old.pk}},
            {"key": "lead", "kind": "create_lead", "config": {"topic": "Contoso Ltd Conference"}},
        ]
    )
    journey_services.journey_go_live(journey=journey)
    with crm_writes.recording():
        journey_services.journeys_tick(inline=True)
        html = mail.outbox[0].alternatives[0][0]
        web = Client()
        for path in re.findall(r'(?:src|href)="https?://[^/"]+(/t/[^"]+)"', html):
            web.get(path.replace("&amp;", "&"))
    assert crm_writes.writes, "the flow wrote no CRM rows: the recorder saw nothing"
    offenders = crm_writes.outside_the_owner()
    assert not offenders, offenders
    trail = contact.consent_changes.filter(source=ConsentSource.JOURNEY)
    assert {c.field for c in trail} >= {"allow_prefill", "list"}


def test_a_landing_submission_writes_crm_tables_only_through_crm_core(crm_writes):
    ContactFactory(email="known@example.com", last_name="Known")
    page = LandingPageFactory()
    with crm_writes.recording():
        assert (
            submit(Client(), page, email="known@example.com", last_name="Known", first_name="K").status_code
            == 200
        )
        assert submit(Client(), page, email="new@example.com", last_name="New").status_code == 200
    assert crm_writes.writes
    offenders = crm_writes.outside_the_owner()
    assert not offenders, offenders


def test_the_scoring_hand_off_writes_crm_tables_only_through_crm_core(crm_writes):
    SalesRepFactory()
    model = PrimaryScoringModelFactory(sales_ready_threshold=10)
    ScoringRuleFactory(model=model, interaction_kind=InteractionKind.EMAIL_OPEN, points=10)
    lead = LeadFactory(parent_contact=ContactFactory())
    from crm_core.services import interaction_record

    interaction_record(
        contact_id=lead.parent_contact_id, kind=InteractionKind.EMAIL_OPEN, occurred_at=timezone.now()
    )
    with crm_writes.recording():
        scoring_model_recompute(model=model)
    lead.refresh_from_db()
    assert (lead.status, lead.sales_ready) == (LeadStatus.MARKETING_QUALIFIED, True)
    assert any(table == "crm_core_lead" for table, _ in crm_writes.writes)
    offenders = crm_writes.outside_the_owner()
    assert not offenders, offenders
