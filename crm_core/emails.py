"""The import path crm_core's first migration names for `NormalizedEmailField` (kept for it alone).

Email addresses are normalised in `crm_core.addresses`; import from there. Django imports a custom
field by the path its migrations recorded, so this path stays as long as those migrations do.
"""

from .addresses import NormalizedEmailField

__all__ = ["NormalizedEmailField"]
