"""Change notices: sent after commit, never for rolled-back work, and the only way changes travel."""

import pytest
from django.apps import apps
from django.db import transaction
from django.db.models.signals import post_delete, post_save

from crm_core import events
from crm_core.services import contact_create, contact_update

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def received():
    seen = []

    def receive(sender, *, change, **kwargs):
        seen.append(change)

    events.records_changed.connect(receive, dispatch_uid="test-events")
    yield seen
    events.records_changed.disconnect(dispatch_uid="test-events")


def test_no_model_signal_receivers_listen_to_crm_records():
    """Writers announce through their services; a receiver on model saves would hide a writer that
    goes around them (bulk SQL never sends model signals)."""
    listened = [
        (signal_name, model.__name__)
        for model in apps.get_app_config("crm_core").get_models()
        for signal_name, signal in (("post_save", post_save), ("post_delete", post_delete))
        if signal.has_listeners(model)
    ]
    assert listened == []


def test_a_notice_is_sent_after_commit_with_what_changed(received):
    with transaction.atomic():
        contact = contact_create(email="ada@example.com")
        assert received == []  # not before the commit
    assert [(n.entity, n.action, n.ids) for n in received] == [
        ("contact", "created", frozenset({contact.pk}))
    ]
    received.clear()
    contact_update(contact=contact, city="Oslo", consent_level=3)
    fields = set().union(*(n.fields for n in received))
    assert {"city", "consent_level"} <= fields


def test_no_notice_for_work_that_rolled_back(received):
    with pytest.raises(RuntimeError), transaction.atomic():
        contact_create(email="bob@example.com")
        raise RuntimeError("rolled back")
    assert received == []


def test_a_failing_subscriber_does_not_fail_the_committed_write(received, caplog):
    def broken(sender, **kwargs):
        raise ValueError("subscriber bug")

    events.records_changed.connect(broken, dispatch_uid="test-broken")
    try:
        contact = contact_create(email="cy@example.com")
    finally:
        events.records_changed.disconnect(dispatch_uid="test-broken")
    assert contact.pk and received
    assert "subscriber" in caplog.text and "failed" in caplog.text


def test_an_unknown_entity_or_action_is_a_programming_error():
    with pytest.raises(ValueError):
        events.records_changed_on_commit(entity="nope", action=events.CREATED, ids=[1])
    with pytest.raises(ValueError):
        events.records_changed_on_commit(entity=events.LEAD, action="moved", ids=[1])
