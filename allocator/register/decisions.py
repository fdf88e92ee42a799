"""Officers' decisions: approve or reject a proposal for one role, start and end placements.

A proposal needs every approval in its ``approvals`` list (the engine's reading of the
contract's approvals table); one that needs none still needs a ``placement_officer`` to accept
it. The approval that completes the set starts the placement in the same transaction: the
unit's vacancies fall by the places the child takes, by a conditional ``UPDATE`` that fails
when the place has gone meanwhile, in which case the proposal lapses and the child is back on
the waiting list. A rejection by any role ends the proposal the same way. Ending a placement
frees its places. Each decision is checked against the scheme of delegation; a decision by an
officer without the role is refused, and the refusal itself is logged.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Connection, Engine, RowMapping, Table, select, update

from allocator.register import audit
from allocator.register.db import RegisterError, crash_point, now, writing
from allocator.register.delegation import Scheme, parse_scheme
from allocator.register.errors import LoggedRefusalError
from allocator.register.roles import PLACEMENT_OFFICER
from allocator.register.schema import (
    approvals,
    delegation_schemes,
    lot_admissions,
    placements,
    proposals,
    units,
)
from allocator.register.store import _engine

#: SSDA903 ``REC`` codes (reason episode ceased) an ended placement may carry.
REC_CODES = ("X1", "E2", "E3", "E4A", "E4B", "E5", "E6", "E7", "E8", "E9", "E11", "E12", "E13",
             "E14", "E15", "E16", "E17", "E41", "E45", "E46", "E47", "E48")

#: Lot words that match a setting, to say which lot a PDPS placement was called off.
SETTING_LOT_WORDS = {"foster": "foster", "residential": "resid", "supported": "support",
                     "parent_child": "parent"}


@dataclass(frozen=True)
class Outcome:
    """The result of a decision, for the CLI to print. ``started``: a placement began."""

    proposal_id: int | None
    status: str
    message: str
    placement_id: int | None = None
    started: bool = False


def required_roles(approvals_text: str | None) -> list[str]:
    """The roles a proposal needs, from its ``approvals`` cell."""
    roles = [a.strip() for a in (approvals_text or "").split(";") if a.strip()]
    return roles or [PLACEMENT_OFFICER]


def current_scheme(conn: Connection) -> Scheme:
    """The scheme of delegation loaded last; exit 2 when none has been loaded."""
    source = conn.execute(select(delegation_schemes.c.source)
                          .order_by(delegation_schemes.c.id.desc()).limit(1)
                          ).scalar_one_or_none()
    if source is None:
        raise RegisterError("no scheme of delegation is loaded: load one with `pdps register "
                            "delegation FILE` (example: allocator/register/examples/"
                            "delegation.yaml)")
    return parse_scheme(source)


def require_named(conn: Connection, officer: str, on: date, *, action: str, entity: str,
                  entity_id: Any, role: str | None = None) -> None:
    """Check ``officer`` is in the scheme (holding ``role`` on ``on`` if given).

    On refusal the audit row is appended and committed before the error is raised, so the
    log shows every refused attempt, not only the decisions that took effect.
    """
    scheme = current_scheme(conn)
    person = scheme.officer(officer)
    if person is None:
        why = f"{officer!r} is not named in the scheme of delegation"
    elif role is not None and not person.holds(role, on):
        holders = ", ".join(scheme.holders(role, on)) or "nobody"
        why = (f"{person.name} does not hold the role {role} on {on.isoformat()} "
               f"(held by: {holders})")
    elif role is None and not any(person.holds(r, on) for r in person.roles):
        why = f"{person.name} holds no role on {on.isoformat()}"
    else:
        return
    audit.append(conn, officer=officer, action=action, entity=entity, entity_id=entity_id,
                 detail={"role": role, "on": on.isoformat(), "why": why})
    conn.commit()
    raise LoggedRefusalError(f"refused: {why}", "--officer")


#: The largest id a register row can have: ids are 32-bit integers on PostgreSQL (and
#: 99999999999999999999999 overflowed SQLite's 64 bits: an internal error, found in review).
MAX_ID = 2**31 - 1


def _locked(conn: Connection, table: Table, row_id: int, noun: str) -> RowMapping:
    """The row ``row_id`` of ``table``, locked until the transaction ends; or a refusal."""
    if not 1 <= row_id <= MAX_ID:  # ids count from 1: no such row, and no query to ask
        raise RegisterError(f"no {noun} {row_id} in the register", noun)
    row = conn.execute(select(table).where(table.c.id == row_id)
                       .with_for_update()).mappings().one_or_none()
    if row is None:
        raise RegisterError(f"no {noun} {row_id} in the register", noun)
    return row


def _decide(engine: Engine, proposal_id: int, officer: str, role: str, note: str | None,
            on: date, decision: str) -> Outcome:
    verb = "approve" if decision == "granted" else "reject"
    with writing(engine) as conn:
        proposal = _locked(conn, proposals, proposal_id, "proposal")
        if proposal["status"] != "pending":
            raise RegisterError(f"proposal {proposal_id} is {proposal['status']}"
                                f"{_because(proposal)}: nothing to {verb}",
                                "proposal")
        needed = required_roles(proposal["approvals"])
        if role not in needed:
            raise RegisterError(f"proposal {proposal_id} does not need {role}; it needs "
                                f"{', '.join(needed)}", "--role")
        require_named(conn, officer, on, action=f"{verb}_refused",
                      entity="proposal", entity_id=proposal_id, role=role)
        earlier = conn.execute(select(approvals.c.officer, approvals.c.decided_at).where(
            approvals.c.proposal_id == proposal_id, approvals.c.role == role)).one_or_none()
        if earlier is not None:
            raise RegisterError(f"proposal {proposal_id}: {role} was already decided by "
                                f"{earlier.officer} at {earlier.decided_at}", "--role")
        conn.execute(approvals.insert().values(proposal_id=proposal_id, role=role,
                                               officer=officer, decision=decision,
                                               decided_at=now(), note=note))
        crash_point("decide:after-approval")
        detail = {"role": role, "child_id": proposal["child_id"], "option": proposal["option"],
                  "on": on.isoformat(), "note_given": bool(note)}
        if decision == "rejected":
            _close(conn, proposal_id, "rejected", f"rejected by {role}")
            audit.append(conn, officer=officer, action="proposal_rejected", entity="proposal",
                         entity_id=proposal_id, detail=detail)
            return Outcome(proposal_id, "rejected", f"proposal {proposal_id} rejected for "
                           f"{role}; child {proposal['child_id']} is back on the waiting list")
        audit.append(conn, officer=officer, action="approval_granted", entity="proposal",
                     entity_id=proposal_id, detail=detail)
        granted = set(conn.execute(select(approvals.c.role).where(
            approvals.c.proposal_id == proposal_id, approvals.c.decision == "granted"))
            .scalars())
        missing = [r for r in needed if r not in granted]
        if missing:
            return Outcome(proposal_id, "pending", f"proposal {proposal_id}: {role} granted; "
                           f"still needs {', '.join(missing)}")
        return _start(conn, dict(proposal), officer, on)


def _because(proposal: Any) -> str:
    return f" ({proposal['status_reason']})" if proposal["status_reason"] else ""


def _close(conn: Connection, proposal_id: int, status: str, reason: str) -> None:
    changed = conn.execute(update(proposals).where(proposals.c.id == proposal_id,
                                                   proposals.c.status == "pending")
                           .values(status=status, status_at=now(), status_reason=reason))
    if changed.rowcount != 1:
        raise RuntimeError(f"proposal {proposal_id} changed under the write lock")


def _start(conn: Connection, proposal: dict[str, Any], officer: str, on: date) -> Outcome:
    """Start the placement a fully approved proposal describes, or lapse it if it cannot."""
    pid = proposal["id"]
    unit: dict[str, Any] = {}
    lot = None
    if proposal["kind"] == "unit":
        unit = dict(conn.execute(select(units).where(units.c.unit_id == proposal["unit_id"])
                                 .with_for_update()).mappings().one())
        lots = conn.execute(select(lot_admissions.c.lot, lot_admissions.c.status).where(
            lot_admissions.c.unit_id == unit["unit_id"]).order_by(lot_admissions.c.lot)).all()
        open_lots = [row.lot for row in lots if row.status == "admitted"]
        if unit["route"] == "pdps" and lots and not open_lots:
            return _lapse(conn, proposal, officer, f"unit {unit['unit_id']}'s PDPS lot "
                          "admissions are suspended or withdrawn")
        word = SETTING_LOT_WORDS.get(str(proposal["setting"]), "")
        lot = next((x for x in open_lots if word and word in x.casefold()),
                   open_lots[0] if open_lots else None)
        taken = conn.execute(update(units).where(units.c.unit_id == unit["unit_id"],
                                                 units.c.vacancies >= proposal["places"])
                             .values(vacancies=units.c.vacancies - proposal["places"]))
        if taken.rowcount != 1:
            return _lapse(conn, proposal, officer, f"unit {unit['unit_id']} has no vacancy "
                          f"left for {proposal['places']} place(s)")
        crash_point("start:after-vacancy")
    moved = _end_active(conn, proposal["child_id"], on, "X1", officer)
    placement_id = conn.execute(placements.insert().values(
        proposal_id=pid, child_id=proposal["child_id"], unit_id=proposal["unit_id"],
        provider_id=proposal["provider_id"], provider_name=unit.get("provider_name"),
        route=proposal["route"], lot=lot, setting=proposal["setting"],
        place_code=proposal["place_code"], place_provider=proposal["place_provider"],
        local_authority=unit.get("local_authority"), in_borough=proposal["in_borough"],
        ofsted_urn=unit.get("ofsted_urn"), weekly_cost_pence=proposal["weekly_cost_pence"],
        places=proposal["places"],
        asc_impact="executive_director_asc" in required_roles(proposal["approvals"]),
        start_date=on, status="active").returning(placements.c.id)).scalar_one()
    _close(conn, pid, "placed", f"placement {placement_id}")
    audit.append(conn, officer=officer, action="placement_started", entity="placement",
                 entity_id=placement_id, detail={
                     "proposal": pid, "child_id": proposal["child_id"],
                     "unit_id": proposal["unit_id"], "route": proposal["route"], "lot": lot,
                     "places": proposal["places"], "start": on.isoformat(),
                     "ended_previous": moved})
    where = proposal["unit_id"] or proposal["option"]
    return Outcome(pid, "placed", f"proposal {pid} fully approved: placement {placement_id} "
                   f"started on {on.isoformat()} ({proposal['child_id']} in {where})",
                   placement_id, True)


def _lapse(conn: Connection, proposal: dict[str, Any], officer: str, why: str) -> Outcome:
    _close(conn, proposal["id"], "lapsed", why)
    audit.append(conn, officer=officer, action="proposal_lapsed", entity="proposal",
                 entity_id=proposal["id"], detail={"child_id": proposal["child_id"],
                                                   "why": why})
    return Outcome(proposal["id"], "lapsed", f"proposal {proposal['id']} approved but the "
                   f"placement cannot start: {why}; child {proposal['child_id']} is back on "
                   "the waiting list")


def _end_active(conn: Connection, child_id: str, on: date, rec: str,
                officer: str) -> int | None:
    """End the child's active placement (a move), freeing its places; its id or None."""
    current = conn.execute(select(placements).where(placements.c.child_id == child_id,
                                                    placements.c.status == "active")
                           .with_for_update()).mappings().one_or_none()
    if current is None:
        return None
    _finish(conn, dict(current), on, rec, officer)
    return int(current["id"])


def _finish(conn: Connection, placement: dict[str, Any], on: date, rec: str | None,
            officer: str) -> None:
    if on < placement["start_date"]:
        raise RegisterError(f"placement {placement['id']} started on "
                            f"{placement['start_date'].isoformat()}: it cannot end on "
                            f"{on.isoformat()}", "--on")
    ended = conn.execute(update(placements).where(placements.c.id == placement["id"],
                                                  placements.c.status == "active")
                         .values(status="ended", end_date=on, end_reason=rec))
    if ended.rowcount != 1:
        raise RuntimeError(f"placement {placement['id']} changed under the write lock")
    crash_point("end:after-placement")
    if placement["unit_id"] is not None:
        conn.execute(update(units).where(units.c.unit_id == placement["unit_id"])
                     .values(vacancies=units.c.vacancies + placement["places"]))
    audit.append(conn, officer=officer, action="placement_ended", entity="placement",
                 entity_id=placement["id"], detail={
                     "child_id": placement["child_id"], "unit_id": placement["unit_id"],
                     "end": on.isoformat(), "rec": rec, "places_freed": placement["places"]
                     if placement["unit_id"] is not None else 0})


def approve(target: str | Engine, proposal_id: int, officer: str, role: str, *,
            note: str | None = None, on: date | None = None) -> Outcome:
    """Grant ``role``'s approval; the last one needed starts the placement on ``on``."""
    return _decide(_engine(target), proposal_id, officer, role, note, on or date.today(),
                   "granted")


def reject(target: str | Engine, proposal_id: int, officer: str, role: str, *,
           note: str | None = None, on: date | None = None) -> Outcome:
    """Refuse ``role``'s approval: the proposal ends and the child waits again."""
    return _decide(_engine(target), proposal_id, officer, role, note, on or date.today(),
                   "rejected")


def end_placement(target: str | Engine, placement_id: int, officer: str, *,
                  on: date | None = None, reason_code: str | None = None) -> Outcome:
    """End an active placement on ``on`` (SSDA903 ``REC`` ``reason_code``), freeing places."""
    engine = _engine(target)
    on = on or date.today()
    if reason_code is not None and reason_code not in REC_CODES:
        raise RegisterError(f"unknown SSDA903 REC code {reason_code!r}; codes are "
                            f"{', '.join(REC_CODES)}", "--reason")
    with writing(engine) as conn:
        placement = _locked(conn, placements, placement_id, "placement")
        if placement["status"] != "active":
            raise RegisterError(f"placement {placement_id} already ended on "
                                f"{placement['end_date']}", "placement")
        require_named(conn, officer, on, action="end_placement_refused", entity="placement",
                      entity_id=placement_id)
        _finish(conn, dict(placement), on, reason_code, officer)
    freed = placement["places"] if placement["unit_id"] else 0
    return Outcome(placement["proposal_id"], "ended", f"placement {placement_id} ended on "
                   f"{on.isoformat()}; {freed} place(s) freed"
                   + (f" in {placement['unit_id']}" if placement["unit_id"] else ""),
                   placement_id)
