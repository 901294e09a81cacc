"""`seed_demo_definitions` gives the demo a live segment, a live primary scoring model and a journey."""

import pytest
from django.core.management import call_command

from crm_core.tests.factories import ContactFactory, InteractionFactory, LeadFactory
from journeys.models import Journey, JourneyStatus
from leadscoring.models import ScoringModel, ScoringModelStatus
from segments.models import Segment, SegmentStatus
from segments.services import segment_refresh

pytestmark = pytest.mark.django_db(transaction=True)


def test_demo_definitions_are_made_once_and_work(capsys):
    decision_maker = ContactFactory(job_role="decision_maker")
    LeadFactory(parent_contact=decision_maker, topic="Contoso Ltd Conference")
    LeadFactory(parent_contact=ContactFactory(job_role="end_user"), topic="Contoso Ltd Conference")
    clicker = ContactFactory()
    InteractionFactory(contact=clicker, kind="email_click")
    InteractionFactory(contact=ContactFactory(do_not_bulk_email=True), kind="email_click")

    call_command("seed_demo_definitions")
    call_command("seed_demo_definitions")
    assert "already there" in capsys.readouterr().out

    segment = Segment.objects.get(name="Contoso Ltd Conference decision makers")
    engaged = Segment.objects.get(name="Clicked an email in the last 30 days")
    assert segment.status == engaged.status == SegmentStatus.LIVE
    segment_refresh(segment_id=segment.pk)
    assert list(segment.memberships.values_list("contact_id", flat=True)) == [decision_maker.pk]
    segment_refresh(segment_id=engaged.pk)
    assert list(engaged.memberships.values_list("contact_id", flat=True)) == [clicker.pk]

    model = ScoringModel.objects.get()
    assert model.status == ScoringModelStatus.LIVE and model.is_primary
    assert model.rules.count() == 7 and model.grade_bands.count() == 3

    journey = Journey.objects.get()
    assert journey.status == JourneyStatus.DRAFT and journey.entry_segment_id == engaged.pk
    assert [s.key for s in journey.steps.order_by("position")] == ["agenda", "wait", "opened", "task", "end"]
