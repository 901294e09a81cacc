"""Random definitions, random data, random changes through the services: after the incremental runs,
every live segment's stored membership is exactly what a full evaluation of its definition finds now.

Definitions come from trees.py (negated nodes, empty values, every relationship, `in_segment` of a
static list) plus an account-rooted one, one reading the leads of the contact's account and a chain
of `in_segment` references. Changes: contacts (fields, account, new, deleted), leads (new, orphans
linked, topic, value, contact, status, deleted), interactions, accounts, opportunities and the
static list. On both database paths (crm_core.sqlpath)."""

import contextlib
import datetime as dt
import os

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crm_core import services as crm
from crm_core import sqlpath
from crm_core.models import Account, Contact, Lead, Opportunity
from segments.compiler import contacts_queryset
from segments.live import live_index
from segments.models import Segment, SegmentKind
from segments.services import segment_create, segment_go_live, segment_members_add, segment_members_remove

from .conftest import segment_keys_clear
from .support import drain, members
from .trees import MISSING, bind_segment, contact_trees, people, people_write

ACCOUNT_ROOTED = {"entity": "account", "match": "any", "conditions": [
    {"field": "industry", "op": "eq", "value": "software"},
    {"related": "contacts", "quantifier": "count", "count": {"op": "gte", "value": 2},
     "conditions": [{"field": "job_role", "op": "eq", "value": "decision_maker"}]}]}  # fmt: skip
ACCOUNT_LEADS = {"entity": "contact", "match": "all", "conditions": [
    {"related": "account", "quantifier": "exists", "negate": True, "conditions": [
        {"related": "leads", "quantifier": "exists", "conditions": [
            {"field": "topic", "op": "contains", "value": "demo"}]}]}]}  # fmt: skip

EXAMPLES = int(os.environ.get("SEGMENTS_FRESHNESS_EXAMPLES", "15"))
# One definition per way a change reaches a segment, next to the random ones.
FIXED = [
    {"entity": "contact", "match": "all", "conditions": [
        {"related": "leads", "quantifier": "exists", "conditions": [
            {"field": "topic", "op": "eq", "value": "contoso ltd conference"}]},
        {"field": "job_role", "op": "eq", "value": "influencer", "negate": True}]},
    {"entity": "contact", "match": "any", "conditions": [
        {"related": "interactions", "quantifier": "count", "count": {"op": "gte", "value": 2}, "conditions": [
            {"field": "url", "op": "neq", "value": "https://x.example/pricing", "negate": True}]},
        {"field": "email", "op": "in", "value": ["p1@example.com", "new1@example.com"], "negate": True}]},
    {"entity": "contact", "match": "all", "conditions": [
        {"related": "account", "quantifier": "exists", "match": "any", "conditions": [
            {"field": "industry", "op": "eq", "value": "software"},
            {"field": "employees", "op": "is_empty"}]},
        {"related": "opportunities", "quantifier": "not_exists", "conditions": [
            {"field": "close_date", "op": "is_empty"}]}]},
    ACCOUNT_ROOTED,
    ACCOUNT_LEADS,
]  # fmt: skip
index = st.integers(0, 99)
changes = st.lists(
    st.one_of(
        st.tuples(st.just("contact"), index, st.sampled_from([
            ("job_role", "decision_maker"), ("job_role", ""), ("country", "germany"), ("country", ""),
            ("email", None), ("email", "new"), ("do_not_bulk_email", True), ("consent_level", 2),
            ("parent_account", "account"), ("parent_account", None)])),
        st.tuples(st.just("contact_new"), st.sampled_from(["decision_maker", ""]), st.booleans()),
        st.tuples(st.just("contact_delete"), index),
        st.tuples(st.just("lead_new"), index, st.sampled_from(["Contoso Ltd Conference", "Demo", ""]),
                  st.booleans(), st.booleans()),
        st.tuples(st.just("lead_edit"), index, st.sampled_from([
            ("topic", "contoso ltd conference"), ("topic", "Demo"), ("topic", ""),
            ("estimated_value", None), ("estimated_value", 5000), ("parent_contact", "contact")])),
        st.tuples(st.just("lead_status"), index),
        st.tuples(st.just("lead_delete"), index),
        st.tuples(st.just("orphans")),
        st.tuples(st.just("interaction"), index, st.sampled_from(["email_click", "page_visit"]),
                  st.sampled_from([MISSING, None, "", "https://x.example/pricing"]),
                  st.sampled_from([-40.5, -0.5])),
        st.tuples(st.just("account"), index, st.sampled_from([
            ("industry", "software"), ("industry", "retail"), ("employees", None), ("employees", 500)])),
        st.tuples(st.just("opportunity"), index, st.sampled_from([None, -1, 3])),
        st.tuples(st.just("static"), index, st.booleans()),
    ),
    min_size=1,
    max_size=25,
)  # fmt: skip


def _nth(model, n: int):
    rows = list(model.objects.order_by("pk").values_list("pk", flat=True))
    return model.objects.get(pk=rows[n % len(rows)]) if rows else None


def _edit_contact(n: int, name: str, value) -> None:
    contact = _nth(Contact, n)
    if contact is None:
        return
    if name == "email" and value == "new":
        value = f"new{contact.pk}@example.com"
    elif name == "parent_account" and value == "account":
        value = _nth(Account, n)
    crm.contact_update(contact=contact, **{name: value})


def _new_lead(n: int, topic: str, orphan: bool, with_account: bool) -> None:
    contact = None if orphan else _nth(Contact, n)
    account = _nth(Account, n) if with_account else None
    crm.lead_create(topic=topic, parent_contact=contact, parent_account=account, email=f"lead{n}@example.com")


def _edit_lead(n: int, name: str, value) -> None:
    lead = _nth(Lead, n)
    if lead is not None:
        crm.lead_update(lead=lead, **{name: _nth(Contact, n) if value == "contact" else value})


def _lead_status(n: int) -> None:
    lead = _nth(Lead, n)
    if lead is not None:
        with contextlib.suppress(crm.LeadTransitionError):
            crm.lead_disqualify(lead=lead)


def apply(change: tuple, *, static_id: int, now: dt.datetime) -> None:
    kind, *args = change
    if kind == "contact":
        _edit_contact(args[0], *args[1])
    elif kind == "contact_new":
        crm.contact_create(job_role=args[0], country="Germany" if args[1] else "")
    elif kind == "contact_delete" and (contact := _nth(Contact, args[0])):
        crm.contact_delete(contact=contact)
    elif kind == "lead_new":
        _new_lead(*args)
    elif kind == "lead_edit":
        _edit_lead(args[0], *args[1])
    elif kind == "lead_status":
        _lead_status(args[0])
    elif kind == "lead_delete" and (lead := _nth(Lead, args[0])):
        crm.lead_delete(lead=lead)
    elif kind == "orphans":
        crm.lead_link_orphans()
    elif kind == "interaction" and (contact := _nth(Contact, args[0])):
        properties = {} if args[2] == MISSING else {"url": args[2]}
        occurred_at = now + dt.timedelta(days=args[3])
        crm.interactions_record(
            rows=[
                {
                    "contact_id": contact.pk,
                    "kind": args[1],
                    "occurred_at": occurred_at,
                    "properties": properties,
                }
            ]
        )
    elif kind == "account" and (account := _nth(Account, args[0])):
        crm.account_update(account=account, **{args[1][0]: args[1][1]})
    elif kind == "opportunity" and (contact := _nth(Contact, args[0])):
        close_date = None if args[1] is None else timezone.localdate() + dt.timedelta(days=args[1])
        crm.opportunity_create(
            name="o", contact=contact, account=contact.parent_account, close_date=close_date
        )
    elif kind == "static" and (contact := _nth(Contact, args[0])):
        change_static = segment_members_add if args[1] else segment_members_remove
        change_static(segment_id=static_id, contact_ids=[contact.pk])


def _fresh_start() -> None:
    Segment.objects.all().delete()
    Opportunity.objects.all().delete()
    Lead.objects.all().delete()
    segment_keys_clear()


@pytest.mark.parametrize("path", ["sql", "portable"])
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=people, trees=st.lists(contact_trees, min_size=1, max_size=3), stream=changes)
def test_incremental_membership_equals_a_full_evaluation(freshness, path, rows, trees, stream):
    _fresh_start()
    static = Segment.objects.create(name="static list", kind=SegmentKind.STATIC)
    now = timezone.now()
    people_write(rows, segment_id=static.pk, now=now)
    with sqlpath.portable_path() if path == "portable" else contextlib.nullcontext():
        definitions = [bind_segment(tree, static.pk) for tree in trees] + FIXED
        segments = [
            segment_go_live(segment=segment_create(name=f"s{n}", definition=d))
            for n, d in enumerate(definitions)
        ]
        chain = {
            "entity": "contact",
            "conditions": [{"in_segment": segments[0].pk}, *ACCOUNT_LEADS["conditions"]],
        }
        segments.append(segment_go_live(segment=segment_create(name="chain", definition=chain)))
        drain()
        for change in stream:
            apply(change, static_id=static.pk, now=now)
        drain()
        index = live_index(fresh=True)
        for segment in sorted(segments, key=lambda s: index.rank[s.pk]):
            definition = Segment.objects.get(pk=segment.pk).definition
            expected = set(contacts_queryset(definition).values_list("pk", flat=True))
            assert members(segment) == expected, (definition, stream)
