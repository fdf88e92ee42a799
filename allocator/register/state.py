"""What the register holds now: status counts, the waiting list, and its invariants.

:func:`check_invariants` states, without trusting the code that wrote the rows, what must be
true of any register whatever happened (a crash, two officers at once): every placement has
all its approvals, vacancies plus active places equal each unit's capacity, no child is in
two places, and the audit chain is unbroken. The crash and concurrency tests assert it, and
``pdps register status`` prints it.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import Connection, Engine, func, select

from allocator.register import audit
from allocator.register.db import now, reading, writing
from allocator.register.decisions import required_roles
from allocator.register.delegation import Scheme, read_scheme, source_hash
from allocator.register.migrate import current_version
from allocator.register.schema import (
    approvals,
    audit_log,
    delegation_schemes,
    placements,
    proposals,
    runs,
    units,
)
from allocator.register.store import _engine


def load_delegation(target: str | Engine, path: str | Path, loaded_by: str) -> dict[str, Any]:
    """Validate a scheme-of-delegation YAML file and make it the scheme in force."""
    engine = _engine(target)
    return record_scheme(engine, *read_scheme(path), loaded_by)


def record_scheme(engine: Engine, source: str, scheme: Scheme,
                  loaded_by: str) -> dict[str, Any]:
    """Make an already validated scheme (:func:`.delegation.read_scheme`) the one in force."""
    digest = source_hash(source)
    with writing(engine) as conn:
        scheme_id = conn.execute(delegation_schemes.insert().values(
            loaded_at=now(), loaded_by=loaded_by, sha256=digest, source=source)
            .returning(delegation_schemes.c.id)).scalar_one()
        audit.append(conn, officer=loaded_by, action="delegation_loaded", entity="scheme",
                     entity_id=scheme_id, detail={
                         "sha256": digest, "authority": scheme.authority,
                         "officers": {o.name: o.roles for o in scheme.officers}})
    return {"id": scheme_id, "sha256": digest, "officers": len(scheme.officers)}


def waiting_children(conn: Connection) -> list[str]:
    """Children whose latest proposal ended without a placement and who are not placed."""
    latest = (select(proposals.c.child_id, func.max(proposals.c.id).label("id"))
              .group_by(proposals.c.child_id).subquery())
    ended = conn.execute(select(proposals.c.child_id).join(latest, proposals.c.id == latest.c.id)
                         .where(proposals.c.status.in_(["rejected", "lapsed", "unplaced"]))
                         ).scalars().all()
    active = set(conn.execute(select(placements.c.child_id)
                              .where(placements.c.status == "active")).scalars())
    return sorted(c for c in ended if c not in active)


def status(target: str | Engine) -> dict[str, Any]:
    """Counts a commissioner checks first, and any broken invariant."""
    engine = _engine(target)
    with reading(engine) as conn:
        scheme = conn.execute(select(delegation_schemes.c.id, delegation_schemes.c.sha256,
                                     delegation_schemes.c.loaded_at)
                              .order_by(delegation_schemes.c.id.desc()).limit(1)).one_or_none()
        return {
            "schema_version": current_version(conn),
            "runs": conn.execute(select(func.count()).select_from(runs)).scalar_one(),
            "units": conn.execute(select(func.count()).select_from(units)).scalar_one(),
            "free_places": int(conn.execute(select(func.coalesce(func.sum(units.c.vacancies),
                                                                 0))).scalar_one()),
            "proposals": dict(Counter(conn.execute(select(proposals.c.status)).scalars())),
            "active_placements": conn.execute(select(func.count()).select_from(placements)
                                              .where(placements.c.status == "active")
                                              ).scalar_one(),
            "waiting_list": len(waiting_children(conn)),
            "audit_rows": conn.execute(select(func.count()).select_from(audit_log)).scalar_one(),
            "delegation": None if scheme is None else
            {"id": scheme.id, "sha256": scheme.sha256[:12], "loaded_at": scheme.loaded_at},
            "problems": check_invariants(conn),
        }


def check_invariants(conn: Connection) -> list[str]:
    """Every broken invariant, as messages; empty when the register is consistent."""
    problems: list[str] = []
    granted: dict[int, set[str]] = {}
    rejected: set[int] = set()
    for row in conn.execute(select(approvals.c.proposal_id, approvals.c.role,
                                   approvals.c.decision)):
        if row.decision == "granted":
            granted.setdefault(row.proposal_id, set()).add(row.role)
        else:
            rejected.add(row.proposal_id)
    by_proposal = {r.id: r for r in conn.execute(select(proposals))}
    placed_ids = set()
    for p in conn.execute(select(placements)).mappings():
        placed_ids.add(p["proposal_id"])
        proposal = by_proposal.get(p["proposal_id"])
        if proposal is None:
            problems.append(f"placement {p['id']}: no proposal {p['proposal_id']}")
            continue
        missing = set(required_roles(proposal.approvals)) - granted.get(proposal.id, set())
        if missing:
            problems.append(f"placement {p['id']}: missing approvals {sorted(missing)}")
        if proposal.status != "placed":
            problems.append(f"placement {p['id']}: its proposal is {proposal.status}")
    for pid, proposal in by_proposal.items():
        if proposal.status == "placed" and pid not in placed_ids:
            problems.append(f"proposal {pid}: placed but no placement")
        if proposal.status == "rejected" and pid not in rejected:
            problems.append(f"proposal {pid}: rejected without a rejection")
    filled = Counter()
    for row in conn.execute(select(placements.c.unit_id, placements.c.places)
                            .where(placements.c.status == "active",
                                   placements.c.unit_id.is_not(None))):
        filled[row.unit_id] += row.places
    for unit in conn.execute(select(units.c.unit_id, units.c.vacancies, units.c.capacity)):
        if unit.vacancies < 0 or unit.vacancies + filled[unit.unit_id] != unit.capacity:
            problems.append(f"unit {unit.unit_id}: {unit.vacancies} free + "
                            f"{filled[unit.unit_id]} filled != capacity {unit.capacity}")
    active = Counter(conn.execute(select(placements.c.child_id)
                                  .where(placements.c.status == "active")).scalars())
    problems += [f"child {c}: {n} active placements" for c, n in active.items() if n > 1]
    problems += audit.verify_chain(conn)
    return problems


def proposal_table(target: str | Engine, wanted: str = "pending") -> pd.DataFrame:
    """Proposals (of one status, or ``all``) with the approvals granted and still needed."""
    engine = _engine(target)
    with reading(engine) as conn:
        query = select(proposals).order_by(proposals.c.id)
        if wanted != "all":
            query = query.where(proposals.c.status == wanted)
        rows = conn.execute(query).mappings().all()
        granted: dict[int, list[str]] = {}
        for row in conn.execute(select(approvals.c.proposal_id, approvals.c.role)
                                .where(approvals.c.decision == "granted")):
            granted.setdefault(row.proposal_id, []).append(row.role)
    out = []
    for r in rows:
        done = granted.get(r["id"], [])
        needed = [x for x in required_roles(r["approvals"]) if x not in done]
        out.append({"proposal": r["id"], "run": r["run_id"], "child_id": r["child_id"],
                    "option": r["option"], "route": r["route"] or "",
                    "weekly_cost": f"£{r['weekly_cost_pence'] / 100:,.2f}",
                    "status": r["status"], "granted": ";".join(done),
                    "needs": ";".join(needed) if r["status"] == "pending" else ""})
    return pd.DataFrame(out)
