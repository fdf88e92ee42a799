"""Domain models of the PDPS allocator: code lists, input rows, table schemas and the policy.

``models`` imports nothing from ``allocator`` or ``scenarios``; everything else builds on it.
"""

from models.codes import (
    SEND_NEEDS,
    STAFF_USE,
    Approval,
    CategoryOfNeed,
    LegalStatus,
    NeedCode,
    OfstedRating,
    PlaceCode,
    PlaceProvider,
    Route,
    Setting,
    Sex,
    Staffing,
    UnitSexes,
    Urgency,
)
from models.policy import Fallback, Policy, PolicyError, load_policy
from models.records import Conflict, Offer, Referral, Unit
from models.schema import TABLE_ROLES, ColumnSpec, TableSchema, table_schema

__all__ = [
    "SEND_NEEDS",
    "STAFF_USE",
    "TABLE_ROLES",
    "Approval",
    "CategoryOfNeed",
    "ColumnSpec",
    "Conflict",
    "Fallback",
    "LegalStatus",
    "NeedCode",
    "Offer",
    "OfstedRating",
    "PlaceCode",
    "PlaceProvider",
    "Policy",
    "PolicyError",
    "Referral",
    "Route",
    "Setting",
    "Sex",
    "Staffing",
    "TableSchema",
    "Unit",
    "UnitSexes",
    "Urgency",
    "load_policy",
    "table_schema",
]
