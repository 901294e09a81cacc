"""The registry as the builder page and the API show it: entities, fields, operators, relationships."""

from .operators import OPERATORS
from .registry import ENTITIES, SEGMENT_ROOTS, custom_fields_of


def registry_as_dict() -> dict:
    """The registry for the builder page (and the API): entities, fields, operators, relationships."""
    return {
        "roots": list(SEGMENT_ROOTS),
        "operators": {type_: list(ops) for type_, ops in OPERATORS.items()},
        "entities": {
            name: {
                "label": entity.label,
                "fields": [
                    {
                        "name": f.name,
                        "label": f.label,
                        "type": f.type,
                        "choices": [{"value": v, "label": label} for v, label in f.choices],
                    }
                    for f in [*entity.fields.values(), *custom_fields_of(entity)]
                ],
                "relationships": [
                    {"name": r.name, "label": r.label, "target": r.target, "to_one": r.to_one}
                    for r in entity.relationships.values()
                ],
            }
            for name, entity in ENTITIES.items()
        },
    }
