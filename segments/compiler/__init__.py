"""The segment-tree compiler: validation, the registry of what may be queried, compilation to SQL.

Public API (other apps use only these):
- validate_definition(definition, *, root=None, segment_id=None) -> list of {"path", "message"}
- compile_definition(definition, *, root=None) -> Q over the root entity's model
- contacts_queryset(definition) -> the selected contacts, one query
- DefinitionError(errors)
- describe_definition(definition, *, root=None) -> the tree in words, for pages
- definition_uses_field(definition, root, entity, name) -> does a condition name this field
"""

from .catalog import registry_as_dict
from .compile import (
    DefinitionError,
    compile_definition,
    contacts_queryset,
    referenced_segments,
    validate_definition,
)
from .describe import describe_definition
from .registry import definition_uses_field

__all__ = [
    "DefinitionError",
    "compile_definition",
    "contacts_queryset",
    "describe_definition",
    "definition_uses_field",
    "referenced_segments",
    "registry_as_dict",
    "validate_definition",
]
