"""Recording what the allocator recommended: a run, its units, referrals, offers, proposals.

:func:`record_run` turns an :class:`~allocator.api.AllocationResult` into register rows in one
transaction: the run and its manifest, the units (new ones with their vacancies and lot
admissions), the referrals (only what reports and the SSDA903 export need), the call-off's
offers, and one proposal per child. A child's earlier pending proposal is superseded by the
new one, so each child has at most one proposal waiting for decisions.

The register's vacancy count is authoritative once a unit is known: it falls when a placement
starts and rises when one ends, so a later units file (whose count may predate those
placements) does not overwrite it. ``pdps register vacancies`` sets it when a provider
reports a change. How many units' files disagree is recorded in the run's audit row.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from sqlalchemy import Connection, Engine, bindparam, func, select, update

from allocator.register import audit
from allocator.register.areas import home_areas
from allocator.register.db import (
    RegisterError,
    crash_point,
    now,
    open_engine,
    reading,
    writing,
)
from allocator.register.migrate import require_current
from allocator.register.schema import (
    lot_admissions,
    lot_events,
    offers,
    placements,
    proposals,
    referrals,
    runs,
    units,
)
from models.limits import MAX_PLACES

if TYPE_CHECKING:
    from allocator.api import AllocationResult

#: Unit columns a later units file may update (not vacancies: see the module docstring).
DESCRIPTIVE = ("provider_id", "provider_name", "setting", "route", "ownership",
               "local_authority", "ofsted_urn", "ofsted_rating", "weekly_price_pence")


@dataclass(frozen=True)
class RunRecord:
    """What :func:`record_run` stored: the run id and each child's proposal id."""

    run_id: int
    proposals: dict[str, int]
    pending: int
    superseded: int
    new_units: int
    vacancies_differ: int


def pence(pounds: Any) -> int:
    """Whole pence, rounded half away from zero as the contract rounds costs; blank is 0."""
    if pounds is None or (isinstance(pounds, float) and math.isnan(pounds)) or pounds is pd.NA:
        return 0
    cents = abs(float(pounds)) * 100
    return int(math.copysign(math.floor(cents + 0.5 + 1e-9), float(pounds)))


def _text(value: Any) -> str | None:
    """A cell as text, lists joined with ``;``; None for blanks."""
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, list | tuple | np.ndarray):
        return ";".join(str(v) for v in value)
    text = str(value)
    return text if text.strip() else None


def _day(value: Any) -> date | None:
    if value is None or value is pd.NA or pd.isna(value):
        return None
    return pd.Timestamp(value).date()


def _flag(value: Any) -> bool | None:
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, str):
        return value.strip().casefold() in {"true", "yes", "1", "y"}
    return bool(value)


def _engine(target: str | Engine) -> Engine:
    engine = target if isinstance(target, Engine) else open_engine(target)
    require_current(engine)
    return engine


def record_run(target: str | Engine, result: AllocationResult, *,
               recorded_by: str = "system") -> RunRecord:
    """Record a run and its proposals in one transaction; returns what was stored."""
    engine = _engine(target)
    inputs = result.inputs
    as_of = inputs.as_of
    unit_rows = _unit_rows(inputs.units)
    offer_places = {}
    if inputs.offers is not None:
        for row in inputs.offers.itertuples(index=False):
            offer_places[(str(row.child_id), str(row.unit_id))] = int(row.capacity_use or 1)
    with writing(engine) as conn:
        stamp = now()
        run_id = conn.execute(runs.insert().values(
            recorded_at=stamp, recorded_by=recorded_by, as_of=as_of,
            method=str(result.summary.get("method", "optimal")),
            status=str(result.summary.get("status", "")), children=len(result.allocation),
            total_weekly_cost_pence=pence(result.summary.get("total_weekly_cost", 0)),
            manifest=json.dumps(result.manifest, sort_keys=True, default=str),
            summary=json.dumps(result.summary, sort_keys=True, default=str),
        ).returning(runs.c.id)).scalar_one()
        new_units, differ = _upsert_units(conn, unit_rows, inputs.units, as_of, stamp)
        if inputs.register_vacancies:  # the run took the register's counts: the file's
            differ = len(inputs.register_vacancies)  # differed for exactly these units
        _upsert_referrals(conn, inputs.referrals, run_id)
        if inputs.offers is not None and len(inputs.offers):
            conn.execute(offers.insert(), [
                {"run_id": run_id, "child_id": str(o.child_id), "unit_id": str(o.unit_id),
                 "weekly_price_pence": pence(o.weekly_price),
                 "quality_score": None if pd.isna(o.quality_score) else float(o.quality_score),
                 "capacity_use": int(o.capacity_use or 1)}
                for o in inputs.offers.itertuples(index=False)])
        children = [str(c) for c in result.allocation["child_id"]]
        superseded = 0
        for some in _chunks(children):
            superseded += conn.execute(
                update(proposals).where(proposals.c.child_id.in_(some),
                                        proposals.c.status == "pending")
                .values(status="superseded", status_at=stamp,
                        status_reason=f"superseded by run {run_id}")).rowcount
        rows = [_proposal_row(r, run_id, stamp, offer_places)
                for r in result.allocation.to_dict("records")]
        if rows:
            conn.execute(proposals.insert(), rows)
        crash_point("record_run:after-proposals")
        ids = dict(conn.execute(select(proposals.c.child_id, proposals.c.id)
                                .where(proposals.c.run_id == run_id)).all())
        pending = sum(1 for r in rows if r["status"] == "pending")
        audit.append(conn, officer=recorded_by, action="run_recorded", entity="run",
                     entity_id=run_id, detail={
                         "as_of": as_of.isoformat(), "children": len(rows),
                         "pending": pending, "superseded": superseded,
                         "new_units": new_units, "vacancies_differ_from_file": differ,
                         "inputs": result.manifest.get("inputs", {})})
    return RunRecord(run_id, ids, pending, superseded, new_units, differ)


def _proposal_row(row: dict[str, Any], run_id: int, stamp: str,
                  offer_places: dict[tuple[str, str], int]) -> dict[str, Any]:
    option = str(row["option"])
    child = str(row["child_id"])
    kind = ("unplaced" if option == "unplaced" else
            "fallback" if option.startswith("fallback:") else "unit")
    distance = row.get("distance_miles")
    return {
        "run_id": run_id, "child_id": child, "option": option, "kind": kind,
        "unit_id": option if kind == "unit" else None,
        "provider_id": _text(row.get("provider_id")), "setting": _text(row.get("setting")),
        "route": _text(row.get("route")), "place_code": _text(row.get("place_code")),
        "place_provider": _text(row.get("place_provider")),
        "weekly_cost_pence": pence(row.get("weekly_cost")),
        "objective_cost_pence": pence(row.get("objective_cost")),
        "distance_miles": None if distance is None or pd.isna(distance) else float(distance),
        "in_borough": _flag(row.get("in_borough")),
        "approvals": _text(row.get("approvals")) or "",
        "places": offer_places.get((child, option), 1) if kind == "unit" else 1,
        "reason": _text(row.get("reason")) or "",
        "status": "unplaced" if kind == "unplaced" else "pending",
        "status_at": stamp, "status_reason": None,
    }


def _unit_rows(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [{
        "unit_id": str(u["unit_id"]), "provider_id": str(u["provider_id"]),
        "provider_name": str(u["provider_name"]), "setting": str(u["setting"]),
        "route": str(u["route"]), "ownership": _text(u.get("ownership")) or "PR4",
        "local_authority": str(u["local_authority"]), "ofsted_urn": _text(u.get("ofsted_urn")),
        "ofsted_rating": _text(u.get("ofsted_rating")),
        "weekly_price_pence": pence(u["weekly_price"]), "vacancies": int(u["vacancies"]),
    } for u in frame.to_dict("records")]


def _upsert_units(conn: Connection, rows: list[dict[str, Any]], frame: pd.DataFrame,
                  as_of: date, stamp: str) -> tuple[int, int]:
    """Insert new units with their lots; refresh known units' descriptions. (new, differing)."""
    known = dict(conn.execute(select(units.c.unit_id, units.c.vacancies)).all())
    fresh = [dict(r, capacity=r["vacancies"], updated_at=stamp) for r in rows
             if r["unit_id"] not in known]
    if fresh:
        conn.execute(units.insert(), fresh)
    old = [r for r in rows if r["unit_id"] in known]
    if old:
        conn.execute(update(units).where(units.c.unit_id == bindparam("uid"))
                     .values({c: bindparam(f"v_{c}") for c in DESCRIPTIVE} |
                             {"updated_at": stamp}),
                     [{"uid": r["unit_id"], **{f"v_{c}": r[c] for c in DESCRIPTIVE}}
                      for r in old])
    differ = sum(1 for r in old if known[r["unit_id"]] != r["vacancies"])
    admitted = {(r.unit_id, r.lot) for r in
                conn.execute(select(lot_admissions.c.unit_id, lot_admissions.c.lot))}
    new_lots = []
    for u in frame.to_dict("records"):
        lots = [x.strip() for x in (_text(u.get("lots")) or "").split(";") if x.strip()]
        on = _day(u.get("admitted_date")) or as_of
        for lot in lots:
            if (str(u["unit_id"]), lot) not in admitted:
                admitted.add((str(u["unit_id"]), lot))
                new_lots.append({"unit_id": str(u["unit_id"]), "lot": lot, "on": on})
    if new_lots:
        conn.execute(lot_admissions.insert(), [
            {"unit_id": x["unit_id"], "lot": x["lot"], "status": "admitted",
             "admitted_on": x["on"], "status_since": x["on"]} for x in new_lots])
        conn.execute(lot_events.insert(), [
            {"unit_id": x["unit_id"], "lot": x["lot"], "event": "admitted",
             "effective_on": x["on"], "reason": "listed in the units file",
             "officer": "system", "recorded_at": stamp} for x in new_lots])
    return len(fresh), differ


def _upsert_referrals(conn: Connection, frame: pd.DataFrame, run_id: int) -> None:
    areas = home_areas(frame["home_lat"].to_numpy(float), frame["home_lon"].to_numpy(float))
    rows = []
    for k, r in enumerate(frame.to_dict("records")):
        weeks = r.get("expected_weeks")
        rows.append({
            "child_id": str(r["child_id"]), "referral_date": _day(r.get("referral_date")),
            "urgency": _text(r.get("urgency")) or "planned",
            "settings": _text(r.get("settings")) or "", "needs": _text(r.get("needs")) or "",
            "staffing": _text(r.get("staffing")) or "standard",
            "key_stage_4": bool(_flag(r.get("key_stage_4"))),
            "legal_status": _text(r.get("legal_status")),
            "category_of_need": _text(r.get("category_of_need")),
            "expected_weeks": None if weeks is None or pd.isna(weeks) else int(weeks),
            "home_area": areas[k], "last_run_id": run_id})
    for some in _chunks([r["child_id"] for r in rows]):
        conn.execute(referrals.delete().where(referrals.c.child_id.in_(some)))
    if rows:
        conn.execute(referrals.insert(), rows)


def _chunks(ids: list[str], size: int = 1000) -> list[list[str]]:
    """``ids`` in slices, so no statement exceeds the drivers' bound-parameter limits."""
    return [ids[k:k + size] for k in range(0, len(ids), size)]


def register_vacancies(target: str | Engine) -> dict[str, int]:
    """Free places of every unit the register knows: what a run should allocate against.

    The register's count is authoritative (module docstring): a units file written before
    a placement started still shows that place as free.
    """
    with reading(_engine(target)) as conn:
        return {str(u): int(v) for u, v in conn.execute(
            select(units.c.unit_id, units.c.vacancies))}


def set_vacancies(target: str | Engine, unit_id: str, vacancies: int, officer: str) -> None:
    """Set a unit's free places as its provider reports them (capacity follows)."""
    from allocator.register.decisions import require_named

    engine = _engine(target)
    if vacancies < 0:
        raise RegisterError("vacancies cannot be negative", "vacancies")
    if vacancies > MAX_PLACES:
        raise RegisterError(f"{vacancies} vacancies is more than any unit has: at most "
                            f"{MAX_PLACES:,} (the allocator's cap on a fallback's capacity)",
                            "vacancies")
    with writing(engine) as conn:
        require_named(conn, officer, date.today(), action="vacancies_set_refused",
                      entity="unit", entity_id=unit_id)
        before = conn.execute(select(units.c.vacancies).where(units.c.unit_id == unit_id)
                              ).scalar_one_or_none()
        if before is None:
            raise RegisterError(f"no unit {unit_id!r} in the register", "unit")
        filled = conn.execute(select(func.coalesce(func.sum(placements.c.places), 0)).where(
            placements.c.unit_id == unit_id, placements.c.status == "active")).scalar_one()
        conn.execute(update(units).where(units.c.unit_id == unit_id).values(
            vacancies=vacancies, capacity=vacancies + int(filled), updated_at=now()))
        audit.append(conn, officer=officer, action="vacancies_set", entity="unit",
                     entity_id=unit_id, detail={"from": before, "to": vacancies})


LOT_EVENTS = {"admit": "admitted", "suspend": "suspended", "reinstate": "admitted",
              "withdraw": "withdrawn"}


def lot_event(target: str | Engine, unit_id: str, lot: str, event: str, on: date,
              officer: str, reason: str | None = None) -> None:
    """Admit a unit to a lot, or suspend, reinstate or withdraw its admission, from ``on``.

    A suspended admission (after an inadequate Ofsted grade, say) stops a PDPS placement in
    that unit from starting until it is reinstated; placements already running go on.
    """
    from allocator.register.decisions import require_named

    engine = _engine(target)
    status = LOT_EVENTS[event]
    with writing(engine) as conn:
        require_named(conn, officer, on, action=f"lot_{event}_refused", entity="unit",
                      entity_id=unit_id)
        if conn.execute(select(units.c.unit_id).where(units.c.unit_id == unit_id)
                        ).scalar_one_or_none() is None:
            raise RegisterError(f"no unit {unit_id!r} in the register", "unit")
        key = (lot_admissions.c.unit_id == unit_id) & (lot_admissions.c.lot == lot)
        current = conn.execute(select(lot_admissions.c.status).where(key)).scalar_one_or_none()
        if event == "admit" and current is None:
            conn.execute(lot_admissions.insert().values(
                unit_id=unit_id, lot=lot, status="admitted", admitted_on=on, status_since=on))
        elif current is None:
            raise RegisterError(f"unit {unit_id} is not admitted to lot {lot!r}", "lot")
        else:
            allowed = {"admit": {"withdrawn"}, "suspend": {"admitted"},
                       "reinstate": {"suspended"}, "withdraw": {"admitted", "suspended"}}
            if current not in allowed[event]:
                raise RegisterError(f"unit {unit_id}'s admission to lot {lot} is {current}: "
                                    f"cannot {event} it", "lot")
            conn.execute(update(lot_admissions).where(key).values(status=status,
                                                                  status_since=on))
        recorded = "reinstated" if event == "reinstate" else status
        conn.execute(lot_events.insert().values(unit_id=unit_id, lot=lot, event=recorded,
                                                effective_on=on, reason=reason,
                                                officer=officer, recorded_at=now()))
        audit.append(conn, officer=officer, action=f"lot_{recorded}", entity="unit",
                     entity_id=unit_id, detail={"lot": lot, "on": on.isoformat()})
