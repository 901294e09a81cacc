"""Registering for an event and attending it keep live segments current (through the services'
change notices), both through the interactions they record and through the registrations."""

from crm_core.models import InteractionKind
from crm_core.services import event_register, registration_attend
from crm_core.tests.factories import ContactFactory, EventFactory

from .support import drain, members
from .test_freshness import field, live, related, where


def test_registration_and_attendance_move_contacts_into_live_segments(freshness):
    ada, bob = ContactFactory(), ContactFactory()
    summit = EventFactory(name="Summit")
    registered = live(
        "registered", where(related("interactions", field("kind", "eq", InteractionKind.EVENT_REGISTRATION)))
    )
    attended = live(
        "attended the summit",
        where(related("registrations", field("event_name", "eq", "Summit"), field("attended", "eq", True))),
    )
    drain()
    assert members(registered) == members(attended) == set()
    registration, _ = event_register(event=summit, contact=ada)
    event_register(event=EventFactory(name="Meetup"), contact=bob)
    drain()
    assert members(registered) == {ada.pk, bob.pk}
    assert members(attended) == set()
    registration_attend(registration=registration)
    drain()
    assert members(attended) == {ada.pk}
