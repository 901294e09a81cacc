"""Random segment trees, random small data with empty values, and the contract's semantics in Python.

`contact_trees` draws definitions over contacts (every node may carry `negate`) whose field
conditions, related clauses (leads, account, opportunities, interactions, subscriptions) and
`in_segment` references hit NULL and empty columns and missing related rows. Custom fields
(`CUSTOM_FIELDS`: every type on contacts, one on leads and accounts) are drawn like built-in ones,
with their values missing, JSON null, "" or [] as well as set. `people` draws the
rows; `people_write` stores them; `definition_matches` is the reference the compiled query must agree
with (segment-query.md, written out plainly).
"""

from __future__ import annotations

import datetime as dt

from django.utils import timezone
from hypothesis import strategies as st

from crm_core.models import (
    Account,
    Contact,
    CustomField,
    Interaction,
    Lead,
    ListMembership,
    Opportunity,
    SubscriptionList,
)
from segments.compiler.registry import BOOLEAN, DATE, DATETIME, ENTITIES, MULTI_CHOICE, NUMBER, TEXT

MISSING = "<missing>"  # a JSON key that is not there at all (unlike a JSON null)
SEGMENT = "<segment>"  # `in_segment` of the test's own static segment (bound when stored)

# --- Field conditions per entity ---------------------------------------------------------------------

TEXT_BINARY = ["eq", "neq", "contains", "not_contains", "starts_with", "ends_with"]
EMPTINESS = ["is_empty", "is_not_empty"]
NUMBER_BINARY = ["eq", "neq", "gt", "gte", "lt", "lte"]
DATE_BINARY = ["on", "before", "after", "on_or_before", "on_or_after"]
DAYS = ["in_last_days", "not_in_last_days", "in_next_days"]


def _day(offset: int) -> str:
    return (timezone.localdate() + dt.timedelta(days=offset)).isoformat()


def _text_conditions(field: str, args: list[str]):
    return st.one_of(
        st.builds(lambda op, v: {"field": field, "op": op, "value": v}, st.sampled_from(TEXT_BINARY),
                  st.sampled_from(args)),
        st.builds(lambda op, v: {"field": field, "op": op, "value": v}, st.sampled_from(["in", "not_in"]),
                  st.lists(st.sampled_from(args), min_size=1, max_size=2)),
        st.builds(lambda op: {"field": field, "op": op}, st.sampled_from(EMPTINESS)),
    )  # fmt: skip


def _choice_conditions(field: str, keys: list[str]):
    return st.one_of(
        st.builds(lambda op, v: {"field": field, "op": op, "value": v}, st.sampled_from(["eq", "neq"]),
                  st.sampled_from(keys)),
        st.builds(lambda op, v: {"field": field, "op": op, "value": v}, st.sampled_from(["in", "not_in"]),
                  st.lists(st.sampled_from(keys), min_size=1, max_size=2)),
        st.builds(lambda op: {"field": field, "op": op}, st.sampled_from(EMPTINESS)),
    )  # fmt: skip


def _number_conditions(field: str, args: list[int]):
    return st.one_of(
        st.builds(lambda op, v: {"field": field, "op": op, "value": v}, st.sampled_from(NUMBER_BINARY),
                  st.sampled_from(args)),
        st.builds(lambda a, b: {"field": field, "op": "between", "value": sorted([a, b])},
                  st.sampled_from(args), st.sampled_from(args)),
        st.builds(lambda v: {"field": field, "op": "in", "value": v},
                  st.lists(st.sampled_from(args), min_size=1, max_size=2)),
        st.builds(lambda op: {"field": field, "op": op}, st.sampled_from(EMPTINESS)),
    )  # fmt: skip


def _date_conditions(field: str):
    offsets = st.sampled_from([-10, 0, 3])
    return st.one_of(
        st.builds(lambda op, d: {"field": field, "op": op, "value": _day(d)}, st.sampled_from(DATE_BINARY),
                  offsets),
        st.builds(lambda a, b: {"field": field, "op": "between", "value": [_day(min(a, b)), _day(max(a, b))]},
                  offsets, offsets),
        st.builds(lambda op, n: {"field": field, "op": op, "value": n}, st.sampled_from(DAYS),
                  st.sampled_from([0, 7, 30])),
        st.builds(lambda op: {"field": field, "op": op}, st.sampled_from(EMPTINESS)),
    )  # fmt: skip


def _boolean_condition(field: str):
    return st.builds(lambda v: {"field": field, "op": "eq", "value": v}, st.booleans())


def _multi_choice_conditions(field: str, keys: list[str]):
    return st.one_of(
        st.builds(lambda op, v: {"field": field, "op": op, "value": v},
                  st.sampled_from(["contains", "not_contains"]), st.sampled_from(keys)),
        st.builds(lambda op, v: {"field": field, "op": op, "value": v}, st.sampled_from(["in", "not_in"]),
                  st.lists(st.sampled_from(keys), min_size=1, max_size=2)),
        st.builds(lambda op: {"field": field, "op": op}, st.sampled_from(EMPTINESS)),
    )  # fmt: skip


# Custom fields per entity: key -> (type, choices, the values drawn for a row). MISSING: no key at all;
# None: a JSON null; "" and []: stored empties (the services never store them, the compiler must still
# read them as empty). Dates are drawn as day offsets and stored as ISO strings.
CUSTOM_FIELDS = {
    "contact": {
        "nick": (TEXT, [], [MISSING, None, "", "Ace", "ace of base", "Zed"]),
        "tier": ("choice", ["gold", "silver"], [MISSING, None, "", "gold", "silver"]),
        "seats": (NUMBER, [], [MISSING, None, 0, 2.5, 10]),
        "vip": (BOOLEAN, [], [MISSING, None, True, False]),
        "renewal": (DATE, [], [MISSING, None, -40, -10, 0, 3, 20]),
        "tools": (MULTI_CHOICE, ["crm", "erp", "bi"], [MISSING, None, [], ["crm"], ["crm", "erp"], ["bi"]]),
    },
    "lead": {"budget": (NUMBER, [], [MISSING, None, 100, 5000])},
    "account": {"region": (TEXT, [], [MISSING, "", "EMEA", "emea north"])},
}


def custom_type(entity: str, name: str) -> str | None:
    if not name.startswith("custom."):
        return None
    return CUSTOM_FIELDS[entity][name.removeprefix("custom.")][0]


def custom_fields_define() -> None:
    """The custom field definitions the trees name (once per database)."""
    from crm_core.services import custom_field_create

    for entity, fields in CUSTOM_FIELDS.items():
        for key, (type_, choices, _) in fields.items():
            if not CustomField.objects.filter(entity=entity, key=key).exists():
                custom_field_create(
                    entity=entity, key=key, label=key.title(), field_type=type_, choices=choices
                )


def custom_values(entity: str):
    """A row's custom values as drawn (MISSING where the key is left out)."""
    return st.fixed_dictionaries(
        {key: st.sampled_from(values) for key, (_, _, values) in CUSTOM_FIELDS[entity].items()}
    )


CONDITIONS = {
    "contact": st.one_of(
        _choice_conditions("job_role", ["decision_maker", "influencer"]),
        _text_conditions("country", ["germany", "FR", "an"]),
        _text_conditions("email", ["p1@example.com", "p", "EXAMPLE.COM"]),
        _number_conditions("consent_level", [0, 2, 5]),
        _boolean_condition("do_not_bulk_email"),
        _text_conditions("custom.nick", ["ace", "ACE OF", "e"]),
        _choice_conditions("custom.tier", ["gold", "silver"]),
        _number_conditions("custom.seats", [0, 2.5, 10]),
        _boolean_condition("custom.vip"),
        _date_conditions("custom.renewal"),
        _multi_choice_conditions("custom.tools", ["crm", "erp", "bi"]),
    ),
    "lead": st.one_of(
        _text_conditions("topic", ["contoso ltd conference", "demo"]),
        _boolean_condition("sales_ready"),
        _number_conditions("estimated_value", [100, 1000, 5000]),
        _number_conditions("custom.budget", [100, 1000, 5000]),
    ),
    "account": st.one_of(
        _choice_conditions("industry", ["software", "retail"]),
        _number_conditions("employees", [10, 100, 500]),
        _text_conditions("custom.region", ["emea", "North", "x"]),
    ),
    "opportunity": _date_conditions("close_date"),
    "interaction": st.one_of(
        _choice_conditions("kind", ["email_click", "page_visit"]),
        _date_conditions("occurred_at"),
        _text_conditions("url", ["https://x.example/pricing", "blog", "HTTPS://X"]),
    ),
    "subscription": st.one_of(
        _text_conditions("list_name", ["news", "Offers"]),
        _date_conditions("unsubscribed_at"),
    ),
}
RELATED = {"leads": "lead", "account": "account", "opportunities": "opportunity",
           "interactions": "interaction", "subscriptions": "subscription"}  # fmt: skip


# --- Trees ---------------------------------------------------------------------------------------------


def negatable(nodes):
    return st.builds(lambda node, neg: {**node, "negate": True} if neg else node, nodes, st.booleans())


def group(children):
    return st.builds(
        lambda match, conds: {"match": match, "conditions": conds},
        st.sampled_from(["all", "any"]),
        st.lists(children, max_size=3),
    )


def _inner_tree(entity: str):
    return st.recursive(negatable(CONDITIONS[entity]), lambda kids: negatable(group(kids)), max_leaves=3)


def _related(name: str):
    return st.builds(
        lambda q, match, conds, count: {
            "related": name, "quantifier": q, "match": match, "conditions": conds,
            **({"count": count} if q == "count" else {}),
        },
        st.sampled_from(["exists", "not_exists", "count"]),
        st.sampled_from(["all", "any"]),
        st.lists(_inner_tree(RELATED[name]), max_size=2),
        st.builds(lambda op, v: {"op": op, "value": v}, st.sampled_from(["eq", "gte", "lte", "gt", "lt"]),
                  st.integers(0, 2)),
    )  # fmt: skip


contact_leaves = st.one_of(
    CONDITIONS["contact"], *(_related(name) for name in RELATED), st.just({"in_segment": SEGMENT})
)
contact_trees = st.builds(
    lambda tree: {"entity": "contact", "match": "all", "conditions": [tree]},
    st.recursive(negatable(contact_leaves), lambda kids: negatable(group(kids)), max_leaves=5),
)


def bind_segment(node, segment_id: int):
    """The tree with its `in_segment` placeholders pointing at `segment_id`."""
    if isinstance(node, dict):
        if node.get("in_segment") == SEGMENT:
            return {**node, "in_segment": segment_id}
        return {k: bind_segment(v, segment_id) if k == "conditions" else v for k, v in node.items()}
    if isinstance(node, list):
        return [bind_segment(child, segment_id) for child in node]
    return node


# --- Rows ----------------------------------------------------------------------------------------------

DAY_OFFSETS = [None, -40, -10, -1, 0, 3, 20]
# Half days away from now, so a window boundary (now - N days) never falls next to a value.
MOMENT_OFFSETS = [-40.5, -10.25, -0.5, 0.5, 3.5]

leads = st.fixed_dictionaries({
    "topic": st.sampled_from(["Contoso Ltd Conference", "CONTOSO LTD CONFERENCE", "Demo", ""]),
    "sales_ready": st.booleans(),
    "estimated_value": st.sampled_from([None, 100, 5000]),
    "custom": custom_values("lead"),
})  # fmt: skip
accounts = st.fixed_dictionaries({
    "industry": st.sampled_from(["software", "retail", ""]),
    "employees": st.sampled_from([None, 10, 500]),
    "custom": custom_values("account"),
})  # fmt: skip
opportunities = st.fixed_dictionaries({"close_date": st.sampled_from(DAY_OFFSETS)})
interactions = st.fixed_dictionaries({
    "kind": st.sampled_from(["email_click", "page_visit"]),
    "occurred_at": st.sampled_from(MOMENT_OFFSETS),
    "url": st.sampled_from([MISSING, None, "", "https://x.example/pricing", "https://x.example/Blog"]),
})  # fmt: skip
subscriptions = st.fixed_dictionaries({
    "list_name": st.sampled_from(["News", "offers"]),
    "unsubscribed_at": st.sampled_from([None, -10.25, -0.5]),
})  # fmt: skip
person = st.fixed_dictionaries({
    "job_role": st.sampled_from(["decision_maker", "influencer", ""]),
    "country": st.sampled_from(["Germany", "germany", "France", ""]),
    "has_email": st.booleans(),
    "consent_level": st.integers(0, 5),
    "do_not_bulk_email": st.booleans(),
    "account": st.one_of(st.none(), accounts),
    "leads": st.lists(leads, max_size=3),
    "opportunities": st.lists(opportunities, max_size=2),
    "interactions": st.lists(interactions, max_size=3),
    "subscriptions": st.lists(subscriptions, max_size=2, unique_by=lambda s: s["list_name"]),
    "in_segment": st.booleans(),
    "custom": custom_values("contact"),
})  # fmt: skip
people = st.lists(person, min_size=1, max_size=5)


def _moment(now: dt.datetime, offset):
    return None if offset is None else now + dt.timedelta(days=offset)


def _date(offset):
    return None if offset is None else timezone.localdate() + dt.timedelta(days=offset)


def _custom(entity: str, drawn: dict | None) -> tuple[dict, dict]:
    """(the `custom` column as stored, the reference's values by `custom.<key>`: None when missing)."""
    stored, seen = {}, {}
    for key, value in (drawn or {}).items():
        if value == MISSING:
            seen[f"custom.{key}"] = None
            continue
        if CUSTOM_FIELDS[entity][key][0] == DATE and value is not None:
            day = _date(value)
            stored[key], seen[f"custom.{key}"] = day.isoformat(), day
            continue
        stored[key], seen[f"custom.{key}"] = value, value
    for key in CUSTOM_FIELDS[entity]:
        seen.setdefault(f"custom.{key}", None)
    return stored, seen


def _split(entity: str, row: dict) -> tuple[dict, dict]:
    """A drawn row as model fields (with `custom`) and as the reference's record."""
    fields = {k: v for k, v in row.items() if k != "custom"}
    stored, seen = _custom(entity, row.get("custom"))
    return {**fields, "custom": stored}, {**fields, **seen}


def people_write(rows: list[dict], *, segment_id: int, now: dt.datetime) -> dict[int, dict]:
    """Store the drawn people (the CRM tables are emptied first); returns the reference records by pk."""
    from segments.models import SegmentMembership

    custom_fields_define()
    Contact.objects.all().delete()
    Account.objects.all().delete()
    lists = {name: SubscriptionList.objects.get_or_create(name=name)[0] for name in ("News", "offers")}
    records = {}
    for index, row in enumerate(rows):
        account = None
        if row["account"]:
            account_fields, account_record = _split("account", row["account"])
            account = Account.objects.create(name=f"a{index}", **account_fields)
        email = f"p{index}@example.com" if row["has_email"] else None
        fields = {k: row[k] for k in ("job_role", "country", "consent_level", "do_not_bulk_email")}
        custom, custom_record = _custom("contact", row.get("custom"))
        contact = Contact.objects.create(email=email, parent_account=account, custom=custom, **fields)
        record = {**fields, **custom_record, "email": email, "in_segment": row["in_segment"]}
        record["account"] = [account_record] if account else []
        record["leads"] = []
        for lead in row["leads"]:
            lead_fields, lead_record = _split("lead", lead)
            Lead.objects.create(parent_contact=contact, **lead_fields)
            record["leads"].append(lead_record)
        record["opportunities"] = []
        for opportunity in row["opportunities"]:
            close_date = _date(opportunity["close_date"])
            Opportunity.objects.create(name="o", contact=contact, close_date=close_date)
            record["opportunities"].append({"close_date": close_date})
        record["interactions"] = []
        for interaction in row["interactions"]:
            url = interaction["url"]
            occurred_at = _moment(now, interaction["occurred_at"])
            properties = {} if url == MISSING else {"url": url}
            Interaction.objects.create(
                contact=contact, kind=interaction["kind"], occurred_at=occurred_at, properties=properties
            )
            url = None if url == MISSING else url
            record["interactions"].append(
                {"kind": interaction["kind"], "occurred_at": occurred_at, "url": url}
            )
        record["subscriptions"] = []
        for subscription in row["subscriptions"]:
            unsubscribed_at = _moment(now, subscription["unsubscribed_at"])
            ListMembership.objects.create(
                contact=contact, subscription_list=lists[subscription["list_name"]],
                unsubscribed_at=unsubscribed_at,
            )  # fmt: skip
            record["subscriptions"].append({**subscription, "unsubscribed_at": unsubscribed_at})
        if row["in_segment"]:
            SegmentMembership.objects.create(segment_id=segment_id, contact=contact, added_at=now)
        records[contact.pk] = record
    return records


# --- The contract's semantics, in plain Python -----------------------------------------------------------


def _empty(value) -> bool:
    return value is None or value == "" or value == []


def _day_of(value, type_: str) -> dt.date:
    return value if type_ == DATE else timezone.localtime(value).date()


def _date_matches(value, type_: str, op: str, arg, now: dt.datetime) -> bool:
    if op in DAYS:
        if type_ == DATE:
            today = timezone.localdate()
            low, high, value_at = today - dt.timedelta(days=arg), today, value
            if op == "in_next_days":
                low, high = today, today + dt.timedelta(days=arg)
        else:
            low, high, value_at = now - dt.timedelta(days=arg), now, value
            if op == "in_next_days":
                low, high = now, now + dt.timedelta(days=arg)
        inside = low <= value_at <= high
        return not inside if op == "not_in_last_days" else inside
    day = _day_of(value, type_)
    if op == "between":
        low, high = (dt.date.fromisoformat(a) for a in arg)
        return low <= day <= high
    bound = dt.date.fromisoformat(arg)
    return {"on": day == bound, "before": day < bound, "after": day > bound,
            "on_or_before": day <= bound, "on_or_after": day >= bound}[op]  # fmt: skip


def field_matches(record: dict, node: dict, entity: str, now: dt.datetime) -> bool:
    type_ = custom_type(entity, node["field"]) or ENTITIES[entity].fields[node["field"]].type
    value, op, arg = record[node["field"]], node["op"], node.get("value")
    if op == "is_empty":
        return _empty(value)
    if op == "is_not_empty":
        return not _empty(value)
    if _empty(value):  # the negative operators match empty values; no other operator does
        return op in ("neq", "not_contains", "not_in", "not_in_last_days")
    if type_ == BOOLEAN:
        return value == arg
    if type_ == MULTI_CHOICE:  # contains: has the choice; in: has any of them
        wanted = set(arg) if op in ("in", "not_in") else {arg}
        has = bool(wanted & set(value))
        return has if op in ("contains", "in") else not has
    if type_ in (DATE, DATETIME):
        return _date_matches(value, type_, op, arg, now)
    if type_ == NUMBER:
        if op == "between":
            return arg[0] <= value <= arg[1]
        if op == "in":
            return value in arg
        return {"eq": value == arg, "neq": value != arg, "gt": value > arg, "gte": value >= arg,
                "lt": value < arg, "lte": value <= arg}[op]  # fmt: skip
    low = value.lower()
    args = [a.lower() for a in arg] if isinstance(arg, list) else arg.lower()
    if type_ != TEXT and op in ("eq", "neq"):  # choice keys compare exactly
        args = arg
    return {"eq": lambda: low == args, "neq": lambda: low != args, "contains": lambda: args in low,
            "not_contains": lambda: args not in low, "starts_with": lambda: low.startswith(args),
            "ends_with": lambda: low.endswith(args), "in": lambda: low in args,
            "not_in": lambda: low not in args}[op]()  # fmt: skip


def node_matches(record: dict, node: dict, entity: str, now: dt.datetime) -> bool:
    if "field" in node:
        result = field_matches(record, node, entity, now)
    elif "related" in node:
        target = ENTITIES[entity].relationships[node["related"]].target
        hits = [row for row in record[node["related"]] if group_matches(row, node, target, now)]
        quantifier = node.get("quantifier", "exists")
        if quantifier == "exists":
            result = bool(hits)
        elif quantifier == "not_exists":
            result = not hits
        else:
            n, op, want = len(hits), node["count"]["op"], node["count"]["value"]
            result = {"eq": n == want, "gte": n >= want, "lte": n <= want, "gt": n > want, "lt": n < want}[op]
    elif "in_segment" in node:
        result = record["in_segment"]
    else:
        result = group_matches(record, node, entity, now)
    return not result if node.get("negate") else result


def group_matches(record: dict, node: dict, entity: str, now: dt.datetime) -> bool:
    results = [node_matches(record, child, entity, now) for child in node.get("conditions", [])]
    if not results:
        return True
    return any(results) if node.get("match", "all") == "any" else all(results)


def definition_matches(record: dict, definition: dict, now: dt.datetime) -> bool:
    result = group_matches(record, definition, definition.get("entity", "contact"), now)
    return not result if definition.get("negate") else result
