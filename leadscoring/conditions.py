"""Conditions of scoring rules on the lead or its contact, in the segment tree format (segment-query.md).

`condition_q(definition)` is the one entry point: it validates a tree rooted at the lead and returns
a Q over Lead. The full segment compiler is being built elsewhere; until it is wired in here, this
supports the subset below and refuses everything else with a ConditionError naming the node's path:

- groups: {"match": "all"|"any", "conditions": [...], "negate": bool}; the root may say "entity": "lead";
- field conditions on the lead: {"field", "op", "value", "negate"} with ops eq, neq, in;
- {"related": "parent_contact", "quantifier": "exists"|"not_exists", "match", "conditions"}: the same
  field conditions on the lead's parent contact (an orphan lead has none: `exists` is false for it).

Semantics follow the spec: text compares case-insensitively, `neq` also matches empty values,
`negate` is plain NOT.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db.models import Exists, OuterRef, Q
from django.db.models.functions import Lower
from django.db.models.lookups import In

from crm_core.models import Contact, Lead

MAX_DEPTH = 8
OPS = ("eq", "neq", "in")

# entity -> {field: kind}; kind "text" compares case-insensitively, "choice" must be a choice key.
LEAD_FIELDS = {
    "topic": "text",
    "first_name": "text",
    "last_name": "text",
    "email": "text",
    "company_name": "text",
    "job_title": "text",
    "job_role": "choice",
    "status": "choice",
    "source": "choice",
}
CONTACT_FIELDS = {
    "first_name": "text",
    "last_name": "text",
    "email": "text",
    "job_title": "text",
    "job_role": "choice",
    "country": "text",
    "city": "text",
    "origin": "choice",
    "marketing_only": "boolean",
}
REGISTRY = {"lead": (Lead, LEAD_FIELDS), "contact": (Contact, CONTACT_FIELDS)}
RELATIONS = {"lead": {"parent_contact": "contact"}}


@dataclass(frozen=True)
class ConditionProblem:
    path: str
    message: str

    def as_dict(self) -> dict:
        return {"path": self.path, "message": self.message}


class ConditionError(ValidationError):
    """A condition that does not validate: one ConditionProblem per node that is wrong."""

    def __init__(self, problems: list[ConditionProblem]):
        self.problems = problems
        super().__init__([f"{p.path or '(root)'}: {p.message}" for p in problems])


def condition_q(definition) -> Q:
    """The Q over Lead that a condition tree selects; raises ConditionError if it does not validate."""
    problems: list[ConditionProblem] = []
    q = _compile_group(definition, entity="lead", path="", depth=1, problems=problems, root=True)
    if problems:
        raise ConditionError(problems)
    return q


def condition_validate(definition) -> None:
    condition_q(definition)


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _compile_node(node, *, entity, path, depth, problems) -> Q:
    if not isinstance(node, dict):
        problems.append(
            ConditionProblem(path, "expected an object (a group, field condition or related clause)")
        )
        return Q()
    if "field" in node:
        return _compile_field(node, entity=entity, path=path, problems=problems)
    if "related" in node:
        return _compile_related(node, entity=entity, path=path, depth=depth, problems=problems)
    if "in_segment" in node:
        problems.append(
            ConditionProblem(path, "segment references are not supported in scoring conditions yet")
        )
        return Q()
    if "match" in node or "conditions" in node:
        return _compile_group(node, entity=entity, path=path, depth=depth, problems=problems)
    problems.append(
        ConditionProblem(path, "unknown node: expected 'field', 'related' or 'match'/'conditions'")
    )
    return Q()


def _negate(node: dict, q: Q, *, path, problems) -> Q:
    negate = node.get("negate", False)
    if not isinstance(negate, bool):
        problems.append(ConditionProblem(_join(path, "negate"), "expected true or false"))
        return q
    return ~q if negate else q


def _check_keys(node: dict, allowed: set[str], *, path, problems) -> None:
    for key in sorted(set(node) - allowed, key=str):
        problems.append(ConditionProblem(_join(path, str(key)), f"unknown key '{key}'"))


def _compile_group(node, *, entity, path, depth, problems, root=False) -> Q:
    if not isinstance(node, dict):
        problems.append(ConditionProblem(path, "expected a group object"))
        return Q()
    if depth > MAX_DEPTH:
        problems.append(ConditionProblem(path, f"nested deeper than {MAX_DEPTH} levels"))
        return Q()
    allowed = {"match", "conditions", "negate"} | ({"entity"} if root else set())
    _check_keys(node, allowed, path=path, problems=problems)
    if root and node.get("entity", "lead") != "lead":
        problems.append(ConditionProblem(_join(path, "entity"), "a scoring condition is rooted at the lead"))
    match = node.get("match", "all")
    if match not in ("all", "any"):
        problems.append(ConditionProblem(_join(path, "match"), "expected 'all' or 'any'"))
    conditions = node.get("conditions", [])
    if not isinstance(conditions, list):
        problems.append(ConditionProblem(_join(path, "conditions"), "expected a list"))
        conditions = []
    q = Q()
    for index, child in enumerate(conditions):
        child_q = _compile_node(
            child,
            entity=entity,
            path=f"{_join(path, 'conditions')}[{index}]",
            depth=depth + 1,
            problems=problems,
        )
        q = (q | child_q) if (match == "any" and index) else (q & child_q)
    return _negate(node, q, path=path, problems=problems)


def _compile_related(node, *, entity, path, depth, problems) -> Q:
    _check_keys(
        node, {"related", "quantifier", "match", "conditions", "negate"}, path=path, problems=problems
    )
    target = RELATIONS.get(entity, {}).get(node["related"])
    if target is None:
        problems.append(
            ConditionProblem(
                _join(path, "related"), f"unknown or unsupported relationship {node['related']!r} on {entity}"
            )
        )
        return Q()
    quantifier = node.get("quantifier", "exists")
    if quantifier not in ("exists", "not_exists"):
        problems.append(
            ConditionProblem(
                _join(path, "quantifier"), "expected 'exists' or 'not_exists' for a to-one relationship"
            )
        )
    inner = _compile_group(
        {"match": node.get("match", "all"), "conditions": node.get("conditions", [])},
        entity=target,
        path=path,
        depth=depth + 1,
        problems=problems,
    )
    model = REGISTRY[target][0]
    exists = Exists(model.objects.filter(inner, pk=OuterRef("parent_contact_id")))
    q = Q(exists) if quantifier == "exists" else ~Q(exists)
    return _negate(node, q, path=path, problems=problems)


def _compile_field(node, *, entity, path, problems) -> Q:
    _check_keys(node, {"field", "op", "value", "negate"}, path=path, problems=problems)
    model, fields = REGISTRY[entity]
    name = node["field"]
    kind = fields.get(name) if isinstance(name, str) else None
    if kind is None:
        problems.append(ConditionProblem(_join(path, "field"), f"unknown field {name!r} on {entity}"))
        return Q()
    op = node.get("op")
    if op not in OPS:
        problems.append(
            ConditionProblem(_join(path, "op"), f"unsupported operator {op!r}; supported: {', '.join(OPS)}")
        )
        return Q()
    if kind == "boolean" and op != "eq":
        problems.append(ConditionProblem(_join(path, "op"), "a boolean field supports only 'eq'"))
        return Q()
    value = node.get("value")
    values = value if op == "in" else [value]
    if op == "in" and (not isinstance(value, list) or not value):
        problems.append(ConditionProblem(_join(path, "value"), "expected a non-empty list for 'in'"))
        return Q()
    choices = {str(key) for key, _ in (model._meta.get_field(name).choices or [])}
    for item in values:
        if kind == "boolean":
            if not isinstance(item, bool):
                problems.append(ConditionProblem(_join(path, "value"), "expected true or false"))
                return Q()
        elif not isinstance(item, str):
            problems.append(ConditionProblem(_join(path, "value"), "expected a string"))
            return Q()
        elif kind == "choice" and item not in choices:
            problems.append(
                ConditionProblem(
                    _join(path, "value"), f"{item!r} is not a choice of {name} ({', '.join(sorted(choices))})"
                )
            )
            return Q()
    if kind == "boolean":
        q = Q(**{name: value})
    elif op == "in":
        lowered = [item.lower() for item in values]
        q = Q(**{f"{name}__in": lowered}) if kind == "choice" else Q(In(Lower(name), lowered))
    else:
        q = Q(**{name: value}) if kind == "choice" else Q(**{f"{name}__iexact": value})
        if op == "neq":  # the negative operator also matches empty values (spec)
            q = ~q | Q(**{f"{name}__isnull": True}) | Q(**{name: ""})
    return _negate(node, q, path=path, problems=problems)
