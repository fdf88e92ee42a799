"""Domain models of the PDPS allocator: code lists, input rows, table schemas and the policy.

``models`` imports nothing from ``allocator`` or ``scenarios``; everything else builds on it.
Names are loaded on first use, so that importing the light code lists (``models.codes``)
does not pull in pydantic: ``pdps --help`` stays quick.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_HOMES = {
    "models.codes": ("SEND_NEEDS", "STAFF_USE", "Approval", "CategoryOfNeed", "LegalStatus",
                     "NeedCode", "OfstedRating", "PlaceCode", "PlaceProvider", "Route",
                     "Setting", "Sex", "Staffing", "UnitSexes", "Urgency"),
    "models.policy": ("Fallback", "Policy", "PolicyError", "load_policy"),
    "models.records": ("Conflict", "Offer", "Referral", "Unit"),
    "models.schema": ("TABLE_ROLES", "ColumnSpec", "TableSchema", "table_schema"),
}
_WHERE = {name: module for module, names in _HOMES.items() for name in names}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'models' has no attribute {name!r}")
    return getattr(import_module(module), name)


__all__ = sorted(_WHERE)
