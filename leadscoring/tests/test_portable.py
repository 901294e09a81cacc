"""The portable path (the embedded SQLite default) gives what the PostgreSQL SQL gives, on random data.

Both paths run on PostgreSQL over the same rows, each in a savepoint that is rolled back, through a
sequence of recomputes at later and later times (so scores rise and decay: hand-offs, returns,
re-arming), full or for some leads; every LeadScore, lead, crossing, status change, hand-off email
and explanation must be the same.
"""

import contextlib
from datetime import UTC, datetime, timedelta
from unittest import mock

import pytest
from django.db import transaction
from django.test import override_settings
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from crm_core import sqlpath
from crm_core.models import InteractionKind, JobRole, Lead, LeadStatus, LeadStatusChange
from crm_core.tests.factories import (
    AccountFactory,
    ContactFactory,
    InteractionFactory,
    LeadFactory,
    OrphanLeadFactory,
    SalesRepFactory,
    UserFactory,
)
from leadscoring import services
from leadscoring.models import CrossingDirection, DecayMode, GradeBand, LeadScore, SalesReadyCrossing
from sales.services import handoff as sales_handoff

from .factories import ScoringModelFactory, ScoringRuleFactory

FAST_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
KINDS = [InteractionKind.EMAIL_OPEN, InteractionKind.PAGE_VISIT, InteractionKind.FORM_SUBMIT]
FILTERS = [
    {},
    {},
    {},
    {"url_contains": "Pricing"},
    {"email": "News"},
    {"form": "démo"},
    {"event": "Summit"},
    {"url_contains": "pricing", "form": "DÉMO"},
]
_SOME_PROPERTIES = st.fixed_dictionaries(
    {
        "url": st.sampled_from(["/pricing", "/PRICING/plans", "/blog", ""]),
        "email": st.sampled_from(["news", "NEWS", "other"]),
        "form": st.sampled_from(["DÉMO", "démo", "demo", "contact"]),
        "event": st.sampled_from(["summit", "Summit", "meetup"]),
    }
)
PROPERTIES = st.one_of(_SOME_PROPERTIES, _SOME_PROPERTIES, _SOME_PROPERTIES, st.just({}))
STATUSES = [LeadStatus.NEW] * 3 + [LeadStatus.NURTURE] * 2 + [LeadStatus.MARKETING_QUALIFIED]
STATUSES += [LeadStatus.SALES_ACCEPTED, LeadStatus.DISQUALIFIED]

rules_strategy = st.lists(
    st.tuples(
        st.sampled_from(KINDS),
        st.one_of(st.sampled_from([-10, -5, 5, 15, 25]), st.integers(-10, 30)),  # points
        st.one_of(st.none(), st.integers(1, 3)),  # cap
        st.sampled_from(FILTERS),
    ),
    min_size=2,
    max_size=4,
)
leads_strategy = st.lists(
    st.tuples(
        st.sampled_from([None, 0, 1, 2, 3]),  # contact (None: an orphan)
        st.sampled_from(STATUSES),
        st.sampled_from([None, None, None, 0, 1, 2, 3]),  # own owner (a user index)
        st.sampled_from([False, False, True]),  # has an account (with an owner)
    ),
    min_size=1,
    max_size=7,
)
interactions_strategy = st.lists(
    st.tuples(
        st.integers(0, 3),  # contact
        st.sampled_from(KINDS),
        # Age at NOW. Round ages and points make ties (x.5 points, a score at a boundary) likely.
        st.one_of(
            st.sampled_from([-5.0, 0.0, 1.0, 2.5, 5.0, 7.5, 10.0]), st.floats(-10, 25, allow_nan=False)
        ),
        PROPERTIES,
    ),
    min_size=20,
    max_size=60,
)
rounds_strategy = st.lists(
    st.tuples(
        st.one_of(st.sampled_from([0.0, 2.5, 5.0]), st.floats(0, 12, allow_nan=False)),  # days later
        st.one_of(st.none(), st.lists(st.booleans(), min_size=7, max_size=7)),  # None: all leads
    ),
    min_size=1,
    max_size=4,
)


def _snapshot(model):
    return {
        "scores": sorted(
            LeadScore.objects.filter(model=model).values_list(
                "lead_id", "score", "grade", "sales_ready", "handoff_state", "computed_at"
            )
        ),
        "leads": sorted(
            Lead.objects.values_list(
                "pk", "status", "owner_id", "score", "grade", "sales_ready", "updated_at"
            )
        ),
        "crossings": sorted(
            SalesReadyCrossing.objects.values_list(
                "lead_id", "model_id", "direction", "score", "owner_id", "crossed_at"
            ),
            key=repr,
        ),
        "history": sorted(
            LeadStatusChange.objects.values_list(
                "lead_id", "from_status", "to_status", "reason", "changed_at", "actor_id"
            ),
            key=repr,
        ),
    }


def _run(path, model, leads, rounds):
    """Snapshots after each round of recomputes on `path` ("sql" or "portable"), then rolled back."""
    emails = []
    with (
        mock.patch.object(
            sales_handoff,
            "handoff_emails_on_commit",
            lambda owner_leads, *, model: emails.append((model.pk, list(owner_leads))),
        ),
        sqlpath.portable_path() if path != "sql" else contextlib.nullcontext(),
        transaction.atomic(),
    ):
        out = []
        now = NOW
        for gap, subset in rounds:
            now += timedelta(days=gap)
            lead_ids = (
                None
                if subset is None
                else [lead.pk for lead, pick in zip(leads, subset, strict=False) if pick]
            )
            if lead_ids == []:
                continue
            result = services.scoring_model_recompute(model=model, lead_ids=lead_ids, now=now)
            out.append((result, _snapshot(model), list(emails)))
        explanations = [services.lead_score_explain(lead=lead, model=model, now=now) for lead in leads]
        transaction.set_rollback(True)
    return out, explanations


@pytest.mark.django_db
@pytest.mark.parametrize("mode", list(DecayMode))
@hypothesis_settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    rules=rules_strategy,
    condition_points=st.one_of(st.none(), st.integers(-20, 40)),
    lead_specs=leads_strategy,
    interactions=interactions_strategy,
    rounds=rounds_strategy,
    threshold=st.one_of(st.sampled_from([10, 15, 20, 25, 30]), st.integers(5, 30)),
    margin=st.one_of(st.sampled_from([0, 5, 10]), st.integers(0, 20)),
    primary=st.sampled_from([True, True, True, False]),
    banded=st.booleans(),
    sales_reps=st.sampled_from([0, 1, 2, 2, 3, 3]),
    rep_assigned_days_ago=st.lists(st.one_of(st.none(), st.integers(1, 3)), min_size=3, max_size=3),
)
def test_portable_path_matches_the_sql(
    mode,
    rules,
    condition_points,
    lead_specs,
    interactions,
    rounds,
    threshold,
    margin,
    primary,
    banded,
    sales_reps,
    rep_assigned_days_ago,
):
    # A fast password hasher: the factories' users would otherwise dominate each example's time.
    with override_settings(PASSWORD_HASHERS=FAST_HASHERS), transaction.atomic():
        model = ScoringModelFactory(
            decay_mode=mode,
            decay_days=None if mode == DecayMode.NONE else 10,
            is_primary=primary,
            sales_ready_threshold=threshold,
            handoff_rearm_margin=margin,
        )
        _rules_and_bands(model, rules, condition_points, banded)
        reps = [SalesRepFactory() for _ in range(sales_reps)]
        contacts, leads = _people(reps, lead_specs)
        # Earlier hand-offs decide who the round-robin picks first.
        for rep, days_ago in zip(reps, rep_assigned_days_ago, strict=False):
            if days_ago is not None:
                SalesReadyCrossing.objects.create(
                    lead=leads[0],
                    model=model,
                    crossed_at=NOW - timedelta(days=days_ago),
                    direction=CrossingDirection.UP,
                    score=0,
                    owner=rep,
                )
        for contact_index, kind, age, properties in interactions:
            InteractionFactory(
                contact=contacts[contact_index],
                kind=kind,
                occurred_at=NOW - timedelta(days=age),
                properties=properties,
            )

        sql = _run("sql", model, leads, rounds)
        portable = _run("portable", model, leads, rounds)
        assert portable == sql
        transaction.set_rollback(True)


def _rules_and_bands(model, rules, condition_points, banded):
    for kind, points, cap, filters in rules:
        ScoringRuleFactory(model=model, interaction_kind=kind, points=points, max_count=cap, **filters)
    if condition_points is not None:
        ScoringRuleFactory(
            model=model,
            interaction_kind=None,
            points=condition_points,
            condition={
                "conditions": [
                    {
                        "related": "parent_contact",
                        "quantifier": "exists",
                        "conditions": [{"field": "job_role", "op": "eq", "value": "decision_maker"}],
                    }
                ]
            },
        )
    if banded:
        GradeBand.objects.create(model=model, grade="A", min_score=40, max_score=None)
        GradeBand.objects.create(model=model, grade="B", min_score=10, max_score=39)
        GradeBand.objects.create(model=model, grade="C", min_score=-5, max_score=9)


def _people(reps, lead_specs):
    """Four contacts (one with an owned account) and the leads of `lead_specs`, owned by the reps or two
    other users; (contacts, leads)."""
    others = [UserFactory(), UserFactory()]
    users = [*reps, *others]
    contacts = [
        ContactFactory(
            job_role=JobRole.DECISION_MAKER if index % 2 else JobRole.END_USER,
            parent_account=AccountFactory(owner=others[0]) if index == 3 else None,
        )
        for index in range(4)
    ]
    leads = []
    for contact_index, status, owner_index, has_account in lead_specs:
        fields = {
            "status": status,
            "owner": users[owner_index] if owner_index is not None and owner_index < len(users) else None,
            "parent_account": AccountFactory(owner=others[1]) if has_account else None,
        }
        if contact_index is None:
            leads.append(OrphanLeadFactory(**fields))
        else:
            leads.append(LeadFactory(parent_contact=contacts[contact_index], **fields))
    return contacts, leads
