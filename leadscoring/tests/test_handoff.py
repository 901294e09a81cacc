"""The sales-ready hand-off: status, owner, one email, crossings recorded once, hysteresis."""

from datetime import UTC, datetime, timedelta

import pytest

from crm_core import events
from crm_core.models import InteractionKind, Lead, LeadStatus, LeadStatusChange
from crm_core.services import lead_accept
from crm_core.tests.factories import (
    AccountFactory,
    ContactFactory,
    InteractionFactory,
    LeadFactory,
    SalesRepFactory,
    UserFactory,
)
from crm_core.tests.notices import notices_sent
from leadscoring.models import CrossingDirection, SalesReadyCrossing
from leadscoring.services import scoring_model_recompute

from .factories import PrimaryScoringModelFactory, ScoringModelFactory, ScoringRuleFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("scoring_path")]

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def model():
    model = PrimaryScoringModelFactory(sales_ready_threshold=100, handoff_rearm_margin=10)
    ScoringRuleFactory(model=model, interaction_kind=InteractionKind.DOWNLOAD, points=50)
    ScoringRuleFactory(model=model, interaction_kind=InteractionKind.PAGE_VISIT, points=5)
    return model


def give(lead, kind=InteractionKind.DOWNLOAD, n=1):
    return [
        InteractionFactory(contact=lead.parent_contact, kind=kind, occurred_at=NOW - timedelta(hours=1))
        for _ in range(n)
    ]


def recompute(model, django_capture_on_commit_callbacks, lead_ids=None, now=NOW):
    with django_capture_on_commit_callbacks(execute=True):
        return scoring_model_recompute(model=model, lead_ids=lead_ids, now=now)


def test_crossing_hands_off_to_the_account_owner_with_one_email(
    model, mailoutbox, django_capture_on_commit_callbacks
):
    owner = SalesRepFactory(email="owner@example.com")
    lead = LeadFactory(parent_account=AccountFactory(owner=owner))
    give(lead, n=2)
    result = recompute(model, django_capture_on_commit_callbacks)
    assert result.handed_off == 1
    lead.refresh_from_db()
    assert (lead.status, lead.sales_ready, lead.owner_id, lead.score) == (
        LeadStatus.MARKETING_QUALIFIED,
        True,
        owner.pk,
        100,
    )
    assert [m.to for m in mailoutbox] == [["owner@example.com"]]
    assert str(lead.pk) in mailoutbox[0].body
    change = LeadStatusChange.objects.get(lead=lead)
    assert (change.from_status, change.to_status) == (LeadStatus.NEW, LeadStatus.MARKETING_QUALIFIED)
    crossing = SalesReadyCrossing.objects.get(lead=lead)
    assert (crossing.direction, crossing.score, crossing.owner_id) == (CrossingDirection.UP, 100, owner.pk)
    # Recomputing again changes nothing and sends nothing.
    assert recompute(model, django_capture_on_commit_callbacks).handed_off == 0
    assert len(mailoutbox) == 1 and SalesReadyCrossing.objects.count() == 1


def test_owner_falls_back_to_the_contacts_account_then_round_robin(
    model, mailoutbox, django_capture_on_commit_callbacks
):
    contact_owner = UserFactory(email="c@example.com")
    via_contact = LeadFactory(
        parent_contact=ContactFactory(parent_account=AccountFactory(owner=contact_owner))
    )
    rep1, rep2 = SalesRepFactory(email="r1@example.com"), SalesRepFactory(email="r2@example.com")
    unowned = [LeadFactory() for _ in range(3)]
    for lead in [via_contact, *unowned]:
        give(lead, n=2)
    recompute(model, django_capture_on_commit_callbacks)
    owners = dict(Lead.objects.values_list("pk", "owner_id"))
    assert owners[via_contact.pk] == contact_owner.pk
    # Nobody assigned before: ties by user id, then alternate in lead order.
    assert [owners[lead.pk] for lead in unowned] == [rep1.pk, rep2.pk, rep1.pk]
    assert sorted(m.to[0] for m in mailoutbox) == ["c@example.com", "r1@example.com", "r2@example.com"]
    assert "2 new sales-ready leads" in next(m.subject for m in mailoutbox if m.to == ["r1@example.com"])
    # Later leads go to the rep whose last assignment is oldest (a tie goes to the lower id).
    later = [LeadFactory(), LeadFactory()]
    for hours, lead in enumerate(later, start=1):
        give(lead, n=2)
        recompute(model, django_capture_on_commit_callbacks, now=NOW + timedelta(hours=hours))
    assert [Lead.objects.get(pk=lead.pk).owner_id for lead in later] == [rep1.pk, rep2.pk]


def test_a_second_hand_off_needs_a_fall_below_threshold_minus_margin(
    model, mailoutbox, django_capture_on_commit_callbacks
):
    lead = LeadFactory(owner=SalesRepFactory(email="rep@example.com"))
    downloads = give(lead, n=2)  # 100
    recompute(model, django_capture_on_commit_callbacks)
    give(lead, kind=InteractionKind.PAGE_VISIT)  # 105
    downloads[0].delete()  # 55 (below the threshold): back to nurture
    recompute(model, django_capture_on_commit_callbacks)
    lead.refresh_from_db()
    assert (lead.status, lead.sales_ready) == (LeadStatus.NURTURE, False)
    # It fell to 55, below threshold - margin (90): armed again, so crossing again is a new hand-off.
    give(lead)  # 105
    recompute(model, django_capture_on_commit_callbacks)
    assert len(mailoutbox) == 2
    assert list(SalesReadyCrossing.objects.order_by("pk").values_list("direction", flat=True)) == [
        "up",
        "down",
        "up",
    ]


def test_exactly_one_email_when_the_score_crosses_twice_within_the_margin(
    model, mailoutbox, django_capture_on_commit_callbacks
):
    lead = LeadFactory(owner=SalesRepFactory(email="rep@example.com"))
    downloads = give(lead, n=2)
    give(lead, kind=InteractionKind.PAGE_VISIT, n=19)  # 100 + 95 = 195
    recompute(model, django_capture_on_commit_callbacks)
    downloads[0].delete()
    downloads[1].delete()
    give(lead, kind=InteractionKind.PAGE_VISIT)  # 100: still ready
    recompute(model, django_capture_on_commit_callbacks)
    lead.parent_contact.interactions.filter(
        kind=InteractionKind.PAGE_VISIT
    ).first().delete()  # 95: below, within margin
    recompute(model, django_capture_on_commit_callbacks)
    assert Lead.objects.get(pk=lead.pk).status == LeadStatus.NURTURE
    give(lead, kind=InteractionKind.PAGE_VISIT, n=2)  # 105: crosses up again
    recompute(model, django_capture_on_commit_callbacks)
    lead.refresh_from_db()
    assert (lead.status, lead.sales_ready) == (LeadStatus.NURTURE, True)
    assert len(mailoutbox) == 1
    assert list(SalesReadyCrossing.objects.order_by("pk").values_list("direction", flat=True)) == [
        "up",
        "down",
    ]


def test_a_lead_sales_accepted_stays_with_sales_when_its_score_decays(
    model, mailoutbox, django_capture_on_commit_callbacks
):
    lead = LeadFactory(owner=SalesRepFactory(email="rep@example.com"))
    downloads = give(lead, n=2)
    recompute(model, django_capture_on_commit_callbacks)
    lead_accept(lead=Lead.objects.get(pk=lead.pk))
    for interaction in downloads:
        interaction.delete()
    recompute(model, django_capture_on_commit_callbacks)
    lead.refresh_from_db()
    assert (lead.status, lead.sales_ready) == (LeadStatus.SALES_ACCEPTED, False)


def test_only_new_or_nurture_leads_are_handed_off_and_only_by_the_primary_model(
    model, mailoutbox, django_capture_on_commit_callbacks
):
    disqualified = LeadFactory(status=LeadStatus.DISQUALIFIED)
    give(disqualified, n=3)
    other = ScoringModelFactory(sales_ready_threshold=1)
    ScoringRuleFactory(model=other, interaction_kind=InteractionKind.DOWNLOAD, points=50)
    fresh = LeadFactory()
    give(fresh)  # 50 under the primary model: not ready; 50 >= 1 under the other
    recompute(model, django_capture_on_commit_callbacks)
    recompute(other, django_capture_on_commit_callbacks)
    assert Lead.objects.get(pk=disqualified.pk).status == LeadStatus.DISQUALIFIED
    assert Lead.objects.get(pk=fresh.pk).status == LeadStatus.NEW
    assert mailoutbox == [] and not SalesReadyCrossing.objects.exists()


def test_score_hand_off_and_return_announce_the_lead(model, django_capture_on_commit_callbacks):
    lead = LeadFactory(owner=SalesRepFactory())
    downloads = give(lead, n=2)  # 100: sales-ready, handed off
    with notices_sent() as sent:
        recompute(model, django_capture_on_commit_callbacks)
    assert lead_notices(sent) == [
        ({lead.pk}, {lead.parent_contact_id}, {"score", "grade", "sales_ready"}),
        ({lead.pk}, {lead.parent_contact_id}, {"status", "owner"}),
    ]
    downloads[0].delete()  # 50: back to nurture
    with notices_sent() as sent:
        recompute(model, django_capture_on_commit_callbacks, lead_ids=[lead.pk])
    assert lead_notices(sent) == [
        ({lead.pk}, {lead.parent_contact_id}, {"score", "grade", "sales_ready"}),
        ({lead.pk}, {lead.parent_contact_id}, {"status"}),
    ]
    with notices_sent() as sent:
        recompute(model, django_capture_on_commit_callbacks)
    assert lead_notices(sent) == []  # nothing changed, nothing announced


def lead_notices(sent):
    return [(n.ids, n.contact_ids, n.fields) for n in sent if n.entity == events.LEAD]


def test_a_hand_off_gives_the_owner_a_call_task_a_notification_and_an_app_link(
    model, mailoutbox, django_capture_on_commit_callbacks
):
    from sales.models import Notification, Task

    owner = SalesRepFactory(email="owner@example.com")
    lead = LeadFactory(owner=owner)
    give(lead, n=2)
    recompute(model, django_capture_on_commit_callbacks)
    task = Task.objects.get()
    assert (task.title, task.source, task.owner_id, task.lead_id, task.contact_id) == (
        "Call within 24 h",
        "handoff",
        owner.pk,
        lead.pk,
        lead.parent_contact_id,
    )
    assert task.due_at == NOW + timedelta(hours=24)
    note = Notification.objects.get()
    assert (note.user_id, note.kind, note.lead_id, note.task_id) == (owner.pk, "handoff", lead.pk, task.pk)
    # One email: the hand-off's, linking to the app's lead page (not the admin).
    assert len(mailoutbox) == 1
    assert f"/leads/{lead.pk}/" in mailoutbox[0].body and "/admin/" not in mailoutbox[0].body
    recompute(model, django_capture_on_commit_callbacks)
    assert Task.objects.count() == 1


def test_no_hand_off_email_for_an_owner_who_turned_it_off(
    model, mailoutbox, django_capture_on_commit_callbacks
):
    from sales.services import user_settings_update

    owner = SalesRepFactory(email="owner@example.com")
    user_settings_update(actor=owner, email_handoff=False)
    give(LeadFactory(owner=owner), n=2)
    assert recompute(model, django_capture_on_commit_callbacks).handed_off == 1
    assert mailoutbox == []
