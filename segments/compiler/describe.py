"""A definition tree in words, for pages that show one (e.g. a scoring rule's condition):
`{"related": "interactions", ... kind eq email_open, occurred_at in_last_days 30}` reads
"email opened in the last 30 days". Labels come from the registry; custom fields' labels and
choices from their definitions, read in one query only when the tree names a custom field. A node
the registry does not know is shown by its raw names, so a stale definition still reads."""

from __future__ import annotations

from contextvars import ContextVar

from crm_core import custom_fields
from crm_core.models import CustomField

from .registry import ENTITIES, Field, custom_field

# (entity, "custom.<key>") -> Field, for the custom fields the definition being described names.
_CUSTOM: ContextVar[dict[tuple[str, str], Field] | None] = ContextVar("describe_custom_fields", default=None)

OP_WORDS = {
    "eq": "is", "neq": "is not", "contains": "contains", "not_contains": "does not contain",
    "starts_with": "starts with", "ends_with": "ends with", "in": "is one of", "not_in": "is none of",
    "is_empty": "is empty", "is_not_empty": "is not empty", "gt": "is over", "gte": "is at least",
    "lt": "is under", "lte": "is at most", "between": "is between", "on": "on", "before": "before",
    "after": "after", "on_or_before": "on or before", "on_or_after": "on or after",
    "in_last_days": "in the last {} days", "not_in_last_days": "not in the last {} days",
    "in_next_days": "in the next {} days",
}  # fmt: skip
COUNT_WORDS = {"eq": "exactly", "gte": "at least", "lte": "at most", "gt": "more than", "lt": "fewer than"}


def describe_definition(definition, *, root: str | None = None) -> str:
    """The tree in words, rooted at `root` (or the definition's `entity`, else contact)."""
    if not isinstance(definition, dict):
        return str(definition)
    entity = root or definition.get("entity") or "contact"
    token = _CUSTOM.set(_custom_fields_named(definition))
    try:
        return _node(definition, entity, top=True)
    finally:
        _CUSTOM.reset(token)


def _custom_keys(node, keys: set[str]) -> set[str]:
    if isinstance(node, dict):
        name = node.get("field")
        if isinstance(name, str) and name.startswith(custom_fields.PREFIX):
            keys.add(name.removeprefix(custom_fields.PREFIX))
        conditions = node.get("conditions")
        for child in conditions if isinstance(conditions, list) else []:
            _custom_keys(child, keys)
    return keys


def _custom_fields_named(definition: dict) -> dict[tuple[str, str], Field]:
    keys = _custom_keys(definition, set())
    if not keys:
        return {}
    return {(d.entity, d.name): custom_field(d) for d in CustomField.objects.filter(key__in=keys)}


def _value(field: Field | None, value) -> str:
    if isinstance(value, list):
        return ", ".join(_value(field, v) for v in value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    labels = dict(field.choices) if field else {}
    return f"“{labels.get(value, value)}”" if isinstance(value, str) else str(value)


def _field(node: dict, entity: str) -> str:
    field = ENTITIES.get(entity).fields.get(node.get("field")) if entity in ENTITIES else None
    field = field or (_CUSTOM.get() or {}).get((entity, node.get("field")))
    label = (field.label if field else str(node.get("field"))).lower()
    op, value = node.get("op"), node.get("value")
    words = OP_WORDS.get(op, str(op))
    if op in ("is_empty", "is_not_empty"):
        return f"{label} {words}"
    if field and field.type in ("date", "datetime"):
        # "occurred on" + "in the last 30 days" reads "occurred in the last 30 days"; an interaction's
        # time reads after its kind alone ("email opened in the last 30 days").
        label = "" if (entity, field.name) == ("interaction", "occurred_at") else label.removesuffix(" on")
        label = f"{label} " if label else ""
        if "{}" in words:
            return f"{label}{words.format(value)}"
        words = words.removeprefix("is ")
        if op == "between" and isinstance(value, list) and len(value) == 2:
            return f"{label}between {value[0]} and {value[1]}"
        return f"{label}{words} {value}"
    if "{}" in words:
        return f"{label} {words.format(value)}"
    if op == "between" and isinstance(value, list) and len(value) == 2:
        return f"{label} {words} {_value(field, value[0])} and {_value(field, value[1])}"
    return f"{label} {words} {_value(field, value)}"


def _group(conditions: list, match: str, entity: str) -> str:
    parts = [_node(c, entity) for c in conditions]
    joiner = " and " if match != "any" else " or "
    return joiner.join(parts)


def _interaction_subject(conditions: list) -> tuple[str, list]:
    """An interaction clause reads by its kind ("email opened ..."), the rest after it."""
    for i, c in enumerate(conditions):
        if isinstance(c, dict) and c.get("field") == "kind" and c.get("op") == "eq" and not c.get("negate"):
            kind = dict(ENTITIES["interaction"].fields["kind"].choices).get(c.get("value"), c.get("value"))
            return str(kind).lower(), conditions[:i] + conditions[i + 1 :]
    return "an interaction", conditions


def _related(node: dict, entity: str) -> str:
    relation = ENTITIES[entity].relationships.get(node["related"]) if entity in ENTITIES else None
    target = relation.target if relation else str(node["related"])
    conditions, match = node.get("conditions") or [], node.get("match", "all")
    quantifier = node.get("quantifier", "exists")
    count = node.get("count") or {}
    how_many = f"{COUNT_WORDS.get(count.get('op'), count.get('op'))} {count.get('value')}"
    if target == "interaction" and match == "all":
        subject, conditions = _interaction_subject(conditions)
        inner = _group(conditions, match, target)
        inner = f" {inner}" if inner else ""
        if quantifier == "not_exists":
            return f"no {subject.removeprefix('an ')}{inner}"
        if quantifier == "count":
            return f"{subject.removeprefix('an ')} {how_many} times{inner}"
        return f"{subject}{inner}"
    inner = _group(conditions, match, target)
    if relation and relation.to_one:  # "parent contact: job role is “Decision maker”"
        inner = f"({inner})" if len(conditions) > 1 else inner
        text = f"{relation.label.lower()}: {inner}" if inner else f"a {relation.label.lower()}"
        return f"no {text}" if quantifier == "not_exists" else text
    noun = ENTITIES[target].label.lower() if target in ENTITIES else target
    where = f" where {inner}" if inner else ""
    if quantifier == "not_exists":
        return f"no {noun}{where}"
    if quantifier == "count":
        return f"{how_many} {noun}s{where}"
    return f"a {noun}{where}"


def _node(node, entity: str, *, top: bool = False) -> str:
    if not isinstance(node, dict):
        return str(node)
    if "field" in node:
        text = _field(node, entity)
    elif "related" in node:
        text = _related(node, entity)
    elif "in_segment" in node:
        text = f"in segment #{node['in_segment']}"
    else:
        conditions = node.get("conditions") or []
        if not conditions:
            text = "every record" if top else "anything"
        else:
            text = _group(conditions, node.get("match", "all"), entity)
            if len(conditions) > 1 and not top:
                text = f"({text})"
    return f"not {text}" if node.get("negate") else text
