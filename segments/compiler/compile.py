"""Validate a segment definition tree and compile it into ONE queryset.

Related-entity clauses become `Exists(...OuterRef(...))` subqueries, `count`
quantifiers a correlated `COUNT(*)` subquery, and `in_segment` an `Exists` over
the stored membership of the other segment.
"""

from __future__ import annotations

from django.db.models import Count, Exists, IntegerField, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.db.models.lookups import Exact, GreaterThan, GreaterThanOrEqual, LessThan, LessThanOrEqual

from crm_core.jsontext import unstorable_text_problems

from .operators import OPERATORS, ValueProblem, check_value, condition_q
from .registry import ENTITIES, ROOTS, SEGMENT_ROOTS, Entity, field_of

MAX_DEPTH = 10
MAX_NODES = 500
GROUP_KEYS = {"match", "conditions", "negate"}
FIELD_KEYS = {"field", "op", "value", "negate"}
RELATED_KEYS = {"related", "quantifier", "match", "conditions", "count", "negate"}
SEGMENT_KEYS = {"in_segment", "negate"}
QUANTIFIERS = ("exists", "not_exists", "count")
COUNT_OPS = {
    "eq": Exact,
    "gte": GreaterThanOrEqual,
    "lte": LessThanOrEqual,
    "gt": GreaterThan,
    "lt": LessThan,
}


class DefinitionError(ValueError):
    """A definition that does not validate; `errors` is a list of {"path", "message"}."""

    def __init__(self, errors: list[dict]):
        super().__init__("; ".join(f"{e['path']}: {e['message']}" for e in errors))
        self.errors = errors


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


class _Validator:
    def __init__(self, *, segment_id: int | None, allowed_roots: tuple[str, ...]):
        self.errors: list[dict] = []
        self.nodes = 0
        self.segment_id = segment_id
        self.allowed_roots = allowed_roots

    def error(self, path: str, message: str) -> None:
        self.errors.append({"path": path, "message": message})

    def root(self, definition, root: str | None) -> None:
        if not isinstance(definition, dict):
            self.error("", "the definition must be a JSON object")
            return
        entity_name = definition.get("entity", root)
        if root is not None and "entity" in definition and definition["entity"] != root:
            self.error("entity", f"expected entity {root!r}")
            return
        if entity_name is None:
            self.error("entity", "missing 'entity' (one of: " + ", ".join(self.allowed_roots) + ")")
            return
        if entity_name not in self.allowed_roots:
            self.error(
                "entity", f"unknown entity {entity_name!r}; expected one of {list(self.allowed_roots)}"
            )
            return
        node = {k: v for k, v in definition.items() if k != "entity"}
        self.group(node, "", ENTITIES[entity_name], depth=1, keys=GROUP_KEYS)

    def node(self, node, path: str, entity: Entity, depth: int) -> None:
        if not isinstance(node, dict):
            self.error(path, "a condition must be a JSON object")
            return
        if "field" in node:
            self.field(node, path, entity)
        elif "related" in node:
            self.related(node, path, entity, depth)
        elif "in_segment" in node:
            self.in_segment(node, path, entity)
        elif "match" in node or "conditions" in node:
            self.group(node, path, entity, depth, keys=GROUP_KEYS)
        else:
            self.error(
                path, "unknown node: expected a group, a field condition, a related clause or in_segment"
            )

    def _common(self, node: dict, path: str, keys: set[str]) -> None:
        self.nodes += 1
        if self.nodes == MAX_NODES + 1:
            self.error(path, f"the tree has more than {MAX_NODES} nodes")
        for key in sorted(set(node) - keys):
            self.error(_join(path, key), f"unknown key {key!r}")
        if "negate" in node and not isinstance(node["negate"], bool):
            self.error(_join(path, "negate"), "must be true or false")

    def group(self, node: dict, path: str, entity: Entity, depth: int, *, keys: set[str]) -> None:
        self._common(node, path, keys)
        if depth > MAX_DEPTH:
            self.error(path or "conditions", f"the tree is deeper than {MAX_DEPTH} levels")
            return
        match = node.get("match", "all")
        if match not in ("all", "any"):
            self.error(_join(path, "match"), "must be 'all' or 'any'")
        conditions = node.get("conditions", [])
        if not isinstance(conditions, list):
            self.error(_join(path, "conditions"), "must be a list")
            return
        for index, child in enumerate(conditions):
            self.node(child, f"{_join(path, 'conditions')}[{index}]", entity, depth + 1)

    def field(self, node: dict, path: str, entity: Entity) -> None:
        self._common(node, path, FIELD_KEYS)
        name = node.get("field")
        field = field_of(entity, name)
        if field is None:
            self.error(_join(path, "field"), f"unknown field {name!r} on {entity.name}")
            return
        op = node.get("op")
        if op not in OPERATORS[field.type]:
            self.error(
                _join(path, "op"),
                f"unknown operator {op!r} for {field.type} field {name!r}; expected one of "
                + ", ".join(OPERATORS[field.type]),
            )
            return
        try:
            check_value(field, op, node)
        except ValueProblem as problem:
            self.error(_join(path, "value"), str(problem))

    def related(self, node: dict, path: str, entity: Entity, depth: int) -> None:
        name = node.get("related")
        rel = entity.relationships.get(name) if isinstance(name, str) else None
        if rel is None:
            self._common(node, path, RELATED_KEYS)
            self.error(_join(path, "related"), f"unknown relationship {name!r} of {entity.name}")
            return
        quantifier = node.get("quantifier", "exists")
        if quantifier not in QUANTIFIERS:
            self.error(_join(path, "quantifier"), "must be one of: " + ", ".join(QUANTIFIERS))
        if quantifier == "count":
            count = node.get("count")
            if not isinstance(count, dict) or set(count) != {"op", "value"}:
                self.error(_join(path, "count"), '\'count\' needs {"op": ..., "value": N}')
            else:
                if count["op"] not in COUNT_OPS:
                    self.error(_join(path, "count.op"), "must be one of: " + ", ".join(COUNT_OPS))
                value = count["value"]
                if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                    self.error(_join(path, "count.value"), "must be a whole number >= 0")
        elif "count" in node:
            self.error(_join(path, "count"), "'count' goes with quantifier 'count' only")
        self.group(node, path, ENTITIES[rel.target], depth + 1, keys=RELATED_KEYS)

    def in_segment(self, node: dict, path: str, entity: Entity) -> None:
        self._common(node, path, SEGMENT_KEYS)
        segment_id = node.get("in_segment")
        where = _join(path, "in_segment")
        if entity.name != "contact":
            self.error(where, "in_segment applies to contacts only")
            return
        if isinstance(segment_id, bool) or not isinstance(segment_id, int):
            self.error(where, "must be a segment id (a whole number)")
            return
        from segments.models import Segment

        if not Segment.objects.filter(pk=segment_id).exists():
            self.error(where, f"segment {segment_id} does not exist")
            return
        if self.segment_id is not None and _reaches(segment_id, self.segment_id):
            self.error(where, f"segment {segment_id} refers back to this segment (a cycle)")


def referenced_segments(definition) -> set[int]:
    """The segment ids a definition refers to with in_segment (at any depth)."""
    found: set[int] = set()

    def walk(node):
        if isinstance(node, dict):
            value = node.get("in_segment")
            if isinstance(value, int) and not isinstance(value, bool):
                found.add(value)
            for child in node.get("conditions", []) if isinstance(node.get("conditions"), list) else []:
                walk(child)

    walk(definition)
    return found


def _reaches(start: int, target: int) -> bool:
    """Does segment `start` (or a segment it refers to, transitively) refer to `target`?"""
    from segments.models import Segment

    seen: set[int] = set()
    frontier = {start}
    while frontier:
        if target in frontier:
            return True
        seen |= frontier
        definitions = Segment.objects.filter(pk__in=frontier).values_list("definition", flat=True)
        frontier = set().union(*(referenced_segments(d) for d in definitions)) - seen
    return False


def validate_definition(definition, *, root: str | None = None, segment_id: int | None = None) -> list[dict]:
    """Every problem of a definition, each {"path", "message"}; empty when it is valid.

    `root` fixes the entity (e.g. "lead" for lead-scoring conditions); without it the
    definition's own "entity" (contact or account) decides. `segment_id` is the segment the
    definition belongs to, for refusing in_segment cycles.
    """
    unstorable = unstorable_text_problems(definition)
    if unstorable:
        return [{"path": path, "message": message} for path, message in unstorable]
    allowed = ROOTS if root is not None else SEGMENT_ROOTS
    validator = _Validator(segment_id=segment_id, allowed_roots=allowed)
    validator.root(definition, root)
    return validator.errors


# --- Compilation -------------------------------------------------------------------------------------

_NOTHING = Q(pk__in=[])


def _is_everything(q: Q) -> bool:
    return not q.children and not q.negated


def _negate(q: Q) -> Q:
    if _is_everything(q):
        return _NOTHING
    return ~q


def _combine(parts: list[Q], match: str) -> Q:
    if match == "any":
        if not parts or any(_is_everything(p) for p in parts):
            return Q()
        result = parts[0]
        for part in parts[1:]:
            result |= part
        return result
    result = Q()
    for part in parts:
        if not _is_everything(part):
            result &= part
    return result


def _compile_group(node: dict, entity: Entity) -> Q:
    parts = [_compile_node(child, entity) for child in node.get("conditions", [])]
    return _combine(parts, node.get("match", "all"))


def _compile_node(node: dict, entity: Entity) -> Q:
    if "field" in node:
        field = field_of(entity, node["field"])
        q = condition_q(field, node["op"], check_value(field, node["op"], node))
    elif "related" in node:
        q = _compile_related(node, entity)
    elif "in_segment" in node:
        from segments.models import SegmentMembership

        q = Q(
            Exists(SegmentMembership.objects.filter(segment_id=node["in_segment"], contact_id=OuterRef("pk")))
        )
    else:
        q = _compile_group(node, entity)
    return _negate(q) if node.get("negate") else q


def _compile_related(node: dict, entity: Entity) -> Q:
    rel = entity.relationships[node["related"]]
    target = ENTITIES[rel.target]
    inner = _compile_group(node, target)
    related = target.model._default_manager.filter(**{rel.inner: OuterRef(rel.outer)})
    if not _is_everything(inner):
        related = related.filter(inner)
    quantifier = node.get("quantifier", "exists")
    if quantifier == "exists":
        return Q(Exists(related))
    if quantifier == "not_exists":
        return ~Q(Exists(related))
    counted = (
        related.order_by().values(rel.inner).annotate(n=Count("*")).values("n")
        if not rel.to_one
        else related.order_by().annotate(n=Value(1)).values("n")[:1]
    )
    total = Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))
    lookup = COUNT_OPS[node["count"]["op"]]
    return Q(lookup(total, node["count"]["value"]))


def compile_definition(definition, *, root: str | None = None) -> Q:
    """The definition as a Q over the root entity's model; DefinitionError if it does not validate."""
    errors = validate_definition(definition, root=root)
    if errors:
        raise DefinitionError(errors)
    entity = ENTITIES[definition.get("entity", root)]
    q = _compile_group(definition, entity)
    return _negate(q) if definition.get("negate") else q


def contacts_queryset(definition) -> QuerySet:
    """The contacts a segment definition selects, as ONE query (account roots: their contacts)."""
    from crm_core.models import Account, Contact

    q = compile_definition(definition)
    if definition.get("entity") == "account":
        accounts = Account.objects.filter(pk=OuterRef("parent_account_id"))
        if not _is_everything(q):
            accounts = accounts.filter(q)
        return Contact.objects.filter(Exists(accounts))
    if _is_everything(q):
        return Contact.objects.all()
    return Contact.objects.filter(q)
