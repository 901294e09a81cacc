"""What a segment definition reads, and so which record changes can change its membership.

- `definition_entities`: the entities a definition reads (the coarse mark the path without Redis uses).
- `definition_reads`: each entity read, by the relationship path from the root and the model fields
  read there (conditions, and the keys the relationships join on).
- `change_anchors`: for one change notice and one read, what must be re-evaluated: contacts
  (`c:<id>`), the contacts of accounts (`a:<id>`), the contacts of the account of a changed row
  (`v:<entity>:<id>`, looked up when the work is done), or everything (`FULL`) when the notice does
  not say enough (ids unknown, a row deleted whose account is gone, a key moved from an unknown
  value, a path deeper than the ones mapped here).
- `relative_schedule`: how often a definition with relative time (`in_last_days`, ...) must be
  evaluated in full because time moves its windows.
"""

from __future__ import annotations

from dataclasses import dataclass

from crm_core import events
from crm_core.custom_fields import PREFIX as CUSTOM_PREFIX

from .compiler.registry import DATE, ENTITIES

FULL = "F"
# The read an account-rooted definition makes at its members: which account a contact belongs to.
MEMBERS_PATH = ("<members>",)
RELATIVE_OPS = ("in_last_days", "not_in_last_days", "in_next_days")
# A datetime window is evaluated again after 1% of its length, at least every hour, at most every 5 min.
RELATIVE_FRACTION = 0.01
RELATIVE_MIN_SECONDS, RELATIVE_MAX_SECONDS = 300, 3600


@dataclass(frozen=True)
class Read:
    entity: str
    path: tuple[str, ...]  # relationship names from the root
    fields: frozenset[str]  # model fields read on `entity` (conditions and join keys)


def _conditions(node) -> list:
    conditions = node.get("conditions", []) if isinstance(node, dict) else []
    return conditions if isinstance(conditions, list) else []


def definition_entities(definition) -> list[str]:
    """The entities a definition reads: a change to any of them may change the membership."""
    if not isinstance(definition, dict):
        return ["contact"]
    return sorted({read.entity for read in definition_reads(definition)})


def definition_reads(definition: dict) -> tuple[Read, ...]:
    root = definition.get("entity", "contact")
    found: dict[tuple[str, tuple[str, ...]], set[str]] = {}

    def visit(node, entity: str, path: tuple[str, ...]) -> None:
        here = found.setdefault((entity, path), set())
        for child in _conditions(node):
            if not isinstance(child, dict):
                continue
            if "field" in child and child["field"] in ENTITIES[entity].fields:
                here.add(ENTITIES[entity].fields[child["field"]].path.split("__")[0])
            elif "field" in child and str(child["field"]).startswith(CUSTOM_PREFIX):
                here.add("custom")  # a custom field reads the `custom` column
            elif "related" in child and child["related"] in ENTITIES[entity].relationships:
                rel = ENTITIES[entity].relationships[child["related"]]
                if rel.outer != "pk":
                    here.add(rel.outer)
                inner_path = (*path, rel.name)
                there = found.setdefault((rel.target, inner_path), set())
                if rel.inner != "pk":
                    there.add(rel.inner)
                visit(child, rel.target, inner_path)
            elif "in_segment" not in child:
                visit(child, entity, path)

    visit(definition, root, ())
    if root == "account":
        found[("contact", MEMBERS_PATH)] = {"parent_account"}
    return tuple(Read(entity, path, frozenset(fields)) for (entity, path), fields in found.items())


# --- From a change notice to what must be re-evaluated --------------------------------------------


def _written(change: events.RecordsChanged) -> set[str]:
    return {name[:-3] if name.endswith("_id") else name for name in change.fields or ()}


def _contacts(ids) -> set[str]:
    return {FULL} if ids is None else {f"c:{pk}" for pk in ids}


def _accounts_of_rows(change: events.RecordsChanged, key: str) -> set[str]:
    """The contacts of the account each changed row belongs to (looked up later, by row id)."""
    rows = change.ids
    if rows is None and change.entity == events.CONTACT:
        rows = change.contact_ids  # contacts made by a set-based job: the notice names them so
    if rows is None or change.action == events.DELETED or key in _written(change):
        return {FULL}  # the row's account is gone, unknown, or was another one before
    return {f"v:{change.entity}:{pk}" for pk in rows}


def change_anchors(read: Read, root: str, change: events.RecordsChanged) -> set[str]:
    """What `change` makes a definition rooted at `root` re-evaluate through `read` (empty: nothing)."""
    if change.entity != read.entity:
        return set()
    if (
        change.action == events.UPDATED
        and change.fields is not None
        and not (_written(change) & read.fields)
        and "updated_at" not in read.fields
    ):
        return set()
    path = read.path
    if path == MEMBERS_PATH or (path == () and root == "contact"):
        if change.action == events.DELETED:
            return set()  # its memberships went with it
        return _contacts(change.ids if change.ids is not None else change.contact_ids)
    if path == ():  # an account root's own fields
        if change.action == events.DELETED or change.ids is None:
            return {FULL}  # its contacts lost their account without a notice of their own
        return {f"a:{pk}" for pk in change.ids}
    rel = ENTITIES[root].relationships[path[0]]
    if len(path) == 1 and rel.outer == "pk":  # rows keyed by the root: their key names it
        if root == "contact":
            return _contacts(change.contact_ids)
        return _accounts_of_rows(change, rel.inner)
    if len(path) == 1:  # to-one from the root (a contact's account): the roots pointing at the rows
        if change.action == events.DELETED or change.ids is None:
            return {FULL}
        return {f"a:{pk}" for pk in change.ids}
    if len(path) == 2 and root == "contact" and path[0] == "account":
        return _accounts_of_rows(change, ENTITIES["account"].relationships[path[1]].inner)
    return {FULL}


# --- Relative time ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class RelativeSchedule:
    seconds: int  # evaluate in full at least this often
    by_day: bool  # and whenever the local date changed (windows over date fields move at midnight)


def relative_schedule(definition) -> RelativeSchedule | None:
    """How often time alone changes the membership of this definition (None: it never does)."""
    seconds: list[int] = []
    by_day = False

    def visit(node, entity: str) -> None:
        nonlocal by_day
        for child in _conditions(node):
            if not isinstance(child, dict):
                continue
            if "field" in child and child.get("op") in RELATIVE_OPS:
                field = ENTITIES[entity].fields.get(child["field"])
                custom = str(child["field"]).startswith(CUSTOM_PREFIX)  # custom temporal fields are dates
                if custom or (field is not None and field.type == DATE):
                    by_day = True
                elif isinstance(child.get("value"), int):
                    window = child["value"] * 86400 * RELATIVE_FRACTION
                    seconds.append(int(min(RELATIVE_MAX_SECONDS, max(RELATIVE_MIN_SECONDS, window))))
            elif "related" in child and child["related"] in ENTITIES[entity].relationships:
                visit(child, ENTITIES[entity].relationships[child["related"]].target)
            elif "in_segment" not in child:
                visit(child, entity)

    if isinstance(definition, dict):
        visit(definition, definition.get("entity", "contact"))
    if not seconds and not by_day:
        return None
    return RelativeSchedule(seconds=min(seconds) if seconds else 86400, by_day=by_day)
