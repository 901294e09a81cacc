"""Event registration and attendance score through the interactions the crm_core services record."""

import pytest

from crm_core.models import InteractionKind
from crm_core.services import event_register, registration_attend
from crm_core.tests.factories import EventFactory, LeadFactory
from leadscoring.models import LeadScore
from leadscoring.services import scoring_model_recompute

from .factories import ScoringModelFactory, ScoringRuleFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("scoring_path")]


def test_registering_and_attending_the_named_event_score_once_each():
    model = ScoringModelFactory()
    ScoringRuleFactory(
        model=model, interaction_kind=InteractionKind.EVENT_REGISTRATION, event="summit", points=10
    )
    ScoringRuleFactory(model=model, interaction_kind=InteractionKind.EVENT_ATTENDANCE, points=25)
    lead = LeadFactory()
    summit, other = EventFactory(name="Summit"), EventFactory(name="Meetup")
    registration, _ = event_register(event=summit, contact=lead.parent_contact)
    event_register(event=summit, contact=lead.parent_contact)  # again: nothing more
    event_register(event=other, contact=lead.parent_contact)  # another event: the filter leaves it out
    registration_attend(registration=registration)
    registration_attend(registration=registration)
    scoring_model_recompute(model=model)
    assert LeadScore.objects.get(lead=lead, model=model).score == 35
