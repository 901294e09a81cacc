"""Conditions of scoring rules on the lead or its contact, in the segment tree format (segment-query.md).

`condition_q(definition)` validates a tree rooted at the lead with the segment compiler and returns
its Q over Lead; a tree that does not validate raises ConditionError, one problem per bad node with
the node's path. Related clauses reach the lead's `parent_contact` (and from there its leads,
account, interactions, ...) and `parent_account`.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db.models import Q

from segments.compiler import compile_definition, describe_definition, validate_definition


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
    problems = [
        ConditionProblem(e["path"], e["message"]) for e in validate_definition(definition, root="lead")
    ]
    if problems:
        raise ConditionError(problems)
    return compile_definition(definition, root="lead")


def condition_entities(definition) -> list[str]:
    """The entities a condition tree reads (the lead, and what it reaches: contact, interactions, ...)."""
    from segments.reads import definition_entities

    if not isinstance(definition, dict):
        return []
    return definition_entities({**definition, "entity": definition.get("entity", "lead")})


def condition_validate(definition) -> None:
    condition_q(definition)


def condition_text(definition) -> str:
    """The condition in words for pages ("parent contact: email opened in the last 30 days")."""
    return describe_definition(definition, root="lead")
