"""Incremental rescoring: the hook, the coalescing drain, and equality with a full recompute."""

from datetime import UTC, datetime, timedelta

import pytest
from django.conf import settings
from django.db import transaction
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from conftest import wait_until
from crm_core.models import Interaction, InteractionKind, Lead
from crm_core.tests.factories import ContactFactory, InteractionFactory, LeadFactory, OrphanLeadFactory
from leadscoring import services
from leadscoring.models import DecayMode, LeadScore
from leadscoring.services import (
    contacts_rescore,
    drain_scheduled_key,
    interactions_recorded,
    pending_contacts_drain,
    pending_contacts_key,
    scoring_model_recompute,
)

from .factories import PrimaryScoringModelFactory, ScoringModelFactory, ScoringRuleFactory

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
KINDS = [InteractionKind.EMAIL_OPEN, InteractionKind.PAGE_VISIT, InteractionKind.FORM_SUBMIT]


def all_scores(model):
    return dict(LeadScore.objects.filter(model=model).values_list("lead_id", "score"))


interaction_sets = st.lists(
    st.tuples(
        st.integers(0, 3),  # contact
        st.sampled_from(KINDS),
        st.floats(0, 40, allow_nan=False),  # age in days
        st.sampled_from(["/pricing", "/blog", "/careers"]),
        st.booleans(),  # recorded after the first full recompute (the incremental part)
    ),
    max_size=25,
)


@pytest.mark.django_db
@hypothesis_settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    interactions=interaction_sets,
    mode=st.sampled_from(list(DecayMode)),
    cap=st.one_of(st.none(), st.integers(1, 3)),
)
def test_incremental_and_full_recompute_give_identical_scores(interactions, mode, cap):
    with transaction.atomic():
        model = ScoringModelFactory(decay_mode=mode, decay_days=None if mode == DecayMode.NONE else 15)
        ScoringRuleFactory(model=model, interaction_kind=InteractionKind.EMAIL_OPEN, points=7, max_count=cap)
        ScoringRuleFactory(
            model=model, interaction_kind=InteractionKind.PAGE_VISIT, url_contains="pricing", points=11
        )
        ScoringRuleFactory(
            model=model, interaction_kind=InteractionKind.PAGE_VISIT, url_contains="careers", points=-6
        )
        ScoringRuleFactory(
            model=model, interaction_kind=InteractionKind.FORM_SUBMIT, points=20, max_count=cap
        )
        contacts = [ContactFactory() for _ in range(4)]
        for contact in contacts[:3]:
            LeadFactory(parent_contact=contact)
        LeadFactory(parent_contact=contacts[0])
        OrphanLeadFactory()

        def record(items):
            for index, kind, age, url, _ in items:
                InteractionFactory(
                    contact=contacts[index],
                    kind=kind,
                    occurred_at=NOW - timedelta(days=age),
                    properties={"url": url},
                )

        record([item for item in interactions if not item[4]])
        scoring_model_recompute(model=model, now=NOW)
        later = [item for item in interactions if item[4]]
        record(later)
        contacts_rescore(contact_ids=[contacts[item[0]].pk for item in later], now=NOW)
        incremental = all_scores(model)
        scoring_model_recompute(model=model, now=NOW)
        assert incremental == all_scores(model)
        transaction.set_rollback(True)


@pytest.mark.django_db(transaction=True)
def test_a_burst_is_coalesced_into_one_task_and_drained_in_batches(clean_redis, monkeypatch):
    from leadscoring import tasks

    model = ScoringModelFactory()
    ScoringRuleFactory(model=model, interaction_kind=InteractionKind.DOWNLOAD, points=3)
    leads = [LeadFactory() for _ in range(5)]
    # Count the enqueues (their Celery options) instead of leaving messages on a queue no worker reads.
    enqueued = []
    monkeypatch.setattr(
        tasks.interactions_rescore_pending_task,
        "apply_async",
        lambda args=(), kwargs=None, **options: enqueued.append(options),
    )
    for done, lead in enumerate(leads):
        with transaction.atomic():
            InteractionFactory(contact=lead.parent_contact, kind=InteractionKind.DOWNLOAD)
            interactions_recorded(contact_ids=[lead.parent_contact_id])
            assert clean_redis.scard(pending_contacts_key()) == done  # queued only once committed
    assert clean_redis.scard(pending_contacts_key()) == 5
    assert enqueued == [{"countdown": services.COALESCE_SECONDS}]
    assert pending_contacts_drain(batch_size=2) == 5
    assert clean_redis.scard(pending_contacts_key()) == 0 and not clean_redis.exists(drain_scheduled_key())
    assert set(all_scores(model).values()) == {3}
    # The next interaction after a drain schedules a new task.
    interactions_recorded(contact_ids=[leads[0].parent_contact_id])
    assert len(enqueued) == 2


@pytest.mark.worker
def test_recording_an_interaction_updates_the_score_within_10_seconds(celery_worker_process, clean_redis):
    model = PrimaryScoringModelFactory(sales_ready_threshold=1000)
    ScoringRuleFactory(model=model, interaction_kind=InteractionKind.FORM_SUBMIT, points=25)
    lead = LeadFactory()
    scoring_model_recompute(model=model)
    assert Lead.objects.get(pk=lead.pk).score == 0
    with transaction.atomic():
        Interaction.objects.create(
            contact=lead.parent_contact,
            kind=InteractionKind.FORM_SUBMIT,
            occurred_at=datetime.now(UTC) - timedelta(seconds=1),
            properties={"form": "demo"},
        )
        interactions_recorded(contact_ids=[lead.parent_contact_id])
    wait_until(lambda: Lead.objects.get(pk=lead.pk).score == 25, timeout=10)
    assert LeadScore.objects.get(lead=lead, model=model).score == 25
    assert settings.REDIS_URL


@pytest.mark.django_db
def test_pending_contacts_go_to_redis_over_one_shared_connection(
    clean_redis, django_capture_on_commit_callbacks
):
    """Every notice of new interactions writes the pending set; it reuses the process's connection
    (a client built per notice opened a new one each time: a TCP handshake per interaction)."""
    from segments import pending

    ScoringModelFactory()
    contact = ContactFactory()
    client = services.redis_client()
    assert client.connection_pool is pending.redis_client().connection_pool
    before = client.client_id()
    for _ in range(3):
        with django_capture_on_commit_callbacks(execute=True):
            interactions_recorded(contact_ids=[contact.pk])
    assert services.redis_client().client_id() == before
    assert clean_redis.smembers(pending_contacts_key()) == {str(contact.pk).encode()}


@pytest.mark.django_db(transaction=True)
def test_only_interactions_a_live_rule_reads_queue_their_contacts(clean_redis, monkeypatch):
    from leadscoring import tasks
    from segments.tests.test_describe import EMAIL_OPENED_30_DAYS

    monkeypatch.setattr(
        tasks.interactions_rescore_pending_task, "apply_async", lambda args=(), kwargs=None, **options: None
    )
    model = ScoringModelFactory()
    ScoringRuleFactory(model=model, interaction_kind=InteractionKind.DOWNLOAD, points=3)
    sent, downloaded = ContactFactory(), ContactFactory()
    rows = [
        InteractionFactory(contact=sent, kind=InteractionKind.EMAIL_SENT),
        InteractionFactory(contact=downloaded, kind=InteractionKind.DOWNLOAD),
    ]

    def queued_after(interactions) -> set[int]:
        clean_redis.delete(pending_contacts_key(), drain_scheduled_key())
        interactions_recorded(
            contact_ids=[i.contact_id for i in interactions], interaction_ids=[i.pk for i in interactions]
        )
        return {int(pk) for pk in clean_redis.smembers(pending_contacts_key())}

    assert queued_after(rows) == {downloaded.pk}  # no live rule reads email_sent
    assert queued_after(rows[:1]) == set()
    # Without the ids (a caller that does not know them) every contact is queued, as before.
    clean_redis.delete(pending_contacts_key())
    interactions_recorded(contact_ids=[sent.pk])
    assert {int(pk) for pk in clean_redis.smembers(pending_contacts_key())} == {sent.pk}
    # A condition rule that reads interactions (any kind may count): every contact is queued.
    ScoringRuleFactory(
        model=model, name="Opened lately", interaction_kind=None, condition=EMAIL_OPENED_30_DAYS
    )
    assert queued_after(rows) == {sent.pk, downloaded.pk}
    # A rule of a draft model reads nothing yet.
    model.status = "draft"
    model.save(update_fields=["status"])
    assert queued_after(rows) == set()
