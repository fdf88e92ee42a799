"""The roles a scheme of delegation can give an officer (cheap to import, for the CLI)."""

from __future__ import annotations

from models.codes import Approval

#: The register's own role: a placement that needs none of the contract's approvals (an
#: in-house place in the borough) still needs a named officer to accept the recommendation,
#: because the tool recommends and people decide.
PLACEMENT_OFFICER = "placement_officer"
ROLES: tuple[str, ...] = (*Approval.values(), PLACEMENT_OFFICER)
