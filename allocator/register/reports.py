"""Reports from the register: spend for the Cabinet Member, sufficiency for commissioners.

Spend in a period counts each placement's nights in it: a placement from ``start_date`` to
``end_date`` is paid for the days ``start_date <= day < end_date`` (the end date is the day
the child left, as SSDA903 dates an episode's end), and a period ``--from A --to B`` holds the
days ``A <= day <= B``. Spend is ``weekly cost * days / 7``, in pence, rounded half up per
placement. Committed weekly spend is the weekly cost of the placements still active at the
end of the period (on day B).

Sufficiency reads the runs recorded with ``as_of`` in the period: for each child the latest
proposal among them says whether the local market met the need (a unit in the borough), met
it elsewhere (a unit outside the borough) or did not (a fallback purchasing system, or no
placement at all).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pandas as pd
from sqlalchemy import Engine, select

from allocator.register.db import reading
from allocator.register.errors import check_period
from allocator.register.report_files import Report, facts_text
from allocator.register.schema import approvals, placements, proposals, referrals, runs
from allocator.register.store import _engine

SPEND_DIMENSIONS = ("route", "lot", "provider", "setting", "borough")
OUTCOMES = ("in_borough", "out_of_borough", "fallback", "unplaced")


def _spend_pence(weekly: int, days: int) -> int:
    """``weekly * days / 7`` in whole pence, half up (integers only: no float drift)."""
    return (2 * weekly * days + 7) // 14


def placement_spend(target: str | Engine, start: date, end: date) -> pd.DataFrame:
    """Every placement that ran on any day of the period, with its days and spend in it."""
    check_period(start, end)
    engine = _engine(target)
    after = end + timedelta(days=1)
    with reading(engine) as conn:
        query = (select(placements, proposals.c.kind, proposals.c.approvals)
                 .join(proposals, proposals.c.id == placements.c.proposal_id)
                 .where(placements.c.start_date <= end,
                        (placements.c.end_date.is_(None)) | (placements.c.end_date > start))
                 .order_by(placements.c.id))
        rows = [dict(r) for r in conn.execute(query).mappings()]
        asc = {r.proposal_id: (r.officer, r.decided_at) for r in conn.execute(
            select(approvals.c.proposal_id, approvals.c.officer, approvals.c.decided_at)
            .where(approvals.c.role == "executive_director_asc",
                   approvals.c.decision == "granted"))}
    out = []
    for r in rows:
        first = max(r["start_date"], start)
        stop = min(r["end_date"] or after, after)
        days = max(0, (stop - first).days)
        active_at_end = r["end_date"] is None or r["end_date"] > end
        provider = (f"{r['provider_id']} {r['provider_name'] or ''}".strip()
                    if r["provider_id"] else f"fallback:{r['route']}")
        officer, decided = asc.get(r["proposal_id"], (None, None))
        out.append({
            "placement_id": r["id"], "child_id": r["child_id"], "route": r["route"],
            "lot": r["lot"] or "none", "provider": provider, "unit_id": r["unit_id"],
            "setting": r["setting"], "place_code": r["place_code"],
            "borough": "in borough" if r["in_borough"] else "out of borough",
            "start_date": r["start_date"].isoformat(),
            "end_date": r["end_date"].isoformat() if r["end_date"] else "",
            "end_reason": r["end_reason"] or "", "weekly_pence": r["weekly_cost_pence"],
            "days_in_period": days, "spend_pence": _spend_pence(r["weekly_cost_pence"], days),
            "active_at_end": active_at_end, "asc_impact": bool(r["asc_impact"]),
            "asc_approved_by": officer or "", "asc_approved_at": decided or ""})
    return pd.DataFrame(out, columns=[
        "placement_id", "child_id", "route", "lot", "provider", "unit_id", "setting",
        "place_code", "borough", "start_date", "end_date", "end_reason", "weekly_pence",
        "days_in_period", "spend_pence", "active_at_end", "asc_impact", "asc_approved_by",
        "asc_approved_at"])


def _gbp(pence: pd.Series) -> pd.Series:
    return pence.astype("int64") / 100


def spend_report(target: str | Engine, start: date, end: date) -> Report:
    """Committed weekly spend and spend in the period, by route, lot, provider, setting and
    borough; the placements behind them; those that reach adult social care budgets."""
    spend = placement_spend(target, start, end)
    spend["committed_pence"] = spend["weekly_pence"].where(spend["active_at_end"], 0)
    by = []
    for dimension in SPEND_DIMENSIONS:
        grouped = spend.groupby(dimension, sort=True)
        for value, group in grouped:
            by.append(_spend_row(dimension, str(value), group))
    by.append(_spend_row("total", "all placements", spend))
    by_table = pd.DataFrame(by)
    listing = spend.assign(weekly_cost_gbp=_gbp(spend["weekly_pence"]),
                           spend_in_period_gbp=_gbp(spend["spend_pence"]))
    listing = listing.drop(columns=["weekly_pence", "spend_pence", "committed_pence"])
    # astype(bool): an empty frame's column is of object dtype, and indexing by it looked
    # its (no) values up as column names: a KeyError for a period without placements.
    asc = listing[listing["asc_impact"].astype(bool)][
        ["placement_id", "child_id", "route", "provider", "setting", "start_date", "end_date",
         "weekly_cost_gbp", "spend_in_period_gbp", "asc_approved_by", "asc_approved_at"]]
    total = by[-1]
    facts = facts_text({
        "period": f"{start.isoformat()} to {end.isoformat()} (both days included)",
        "placements in the period": total["placements"],
        "active on the last day": total["active_at_end"],
        "committed weekly spend": f"£{total['committed_weekly_gbp']:,.2f}",
        "spend in the period": f"£{total['spend_in_period_gbp']:,.2f}",
        "placements reaching adult social care budgets": len(asc)})
    notes = ["Spend counts each day a placement ran in the period, at its weekly cost / 7; "
             "its end date (the day the child left) is not counted. Committed weekly spend "
             "is the weekly cost of placements still active on the period's last day.",
             "Child ids are pseudonymous. Approval notes are not shown."]
    if spend.empty:  # a new register, or a quiet month: a report that says so
        notes.insert(0, "No placement ran in the period: there was no spend and no weekly "
                        "spend is committed.")
    return Report(f"Spend: {start.isoformat()} to {end.isoformat()}", facts,
                  {"spend_by": by_table, "placements": listing, "adult_social_care": asc},
                  notes)


def _spend_row(dimension: str, value: str, group: pd.DataFrame) -> dict[str, Any]:
    return {"dimension": dimension, "value": value, "placements": len(group),
            "active_at_end": int(group["active_at_end"].sum()),
            "committed_weekly_gbp": int(group["committed_pence"].sum()) / 100,
            "spend_in_period_gbp": int(group["spend_pence"].sum()) / 100}


def sufficiency_report(target: str | Engine, start: date, end: date) -> Report:
    """Demand the local market could not meet, by setting, need and area; what fallbacks cost."""
    check_period(start, end)
    engine = _engine(target)
    with reading(engine) as conn:
        run_ids = conn.execute(select(runs.c.id).where(runs.c.as_of >= start,
                                                       runs.c.as_of <= end)).scalars().all()
        rows = [dict(r) for r in conn.execute(
            select(proposals, referrals.c.settings.label("care_plan_settings"),
                   referrals.c.needs, referrals.c.home_area)
            .join(referrals, referrals.c.child_id == proposals.c.child_id)
            .where(proposals.c.run_id.in_(run_ids)).order_by(proposals.c.id)).mappings()]
    latest = {r["child_id"]: r for r in rows}  # ordered by id: the last one wins
    children = pd.DataFrame([{
        "child_id": r["child_id"], "run_id": r["run_id"], "outcome": _outcome(r),
        "option": r["option"], "settings": r["care_plan_settings"] or "none",
        "needs": r["needs"] or "", "area": r["home_area"],
        "weekly_pence": r["weekly_cost_pence"] if r["kind"] == "fallback" else 0,
        "status": r["status"]} for r in latest.values()],
        columns=["child_id", "run_id", "outcome", "option", "settings", "needs", "area",
                 "weekly_pence", "status"])
    spend = placement_spend(engine, start, end)
    fallback_spend = int(spend[spend["provider"].str.startswith("fallback:")]["spend_pence"]
                         .sum())
    needs = children.assign(need=children["needs"].str.split(";")).explode("need")
    needs["need"] = needs["need"].replace("", "none").fillna("none")
    by = [_sufficiency_row("setting", str(v), g) for v, g in children.groupby("settings")]
    by += [_sufficiency_row("need", str(v), g) for v, g in needs.groupby("need")]
    by += [_sufficiency_row("area", str(v), g) for v, g in children.groupby("area")]
    by.append(_sufficiency_row("total", "all children", children))
    unmet = children[children["outcome"].isin(["fallback", "unplaced"])].assign(
        fallback_weekly_gbp=lambda f: _gbp(f["weekly_pence"])).drop(columns="weekly_pence")
    total = by[-1]
    facts = facts_text({
        "period": f"runs with --as-of {start.isoformat()} to {end.isoformat()}",
        "runs": len(run_ids), "children referred": total["children"],
        "met in the borough": total["in_borough"],
        "met outside the borough": total["out_of_borough"],
        "through a fallback purchasing system": total["fallback"],
        "unplaced": total["unplaced"],
        "fallback weekly cost proposed": f"£{total['fallback_weekly_gbp']:,.2f}",
        "spend on fallback placements in the period": f"£{fallback_spend / 100:,.2f}"})
    notes = ["Each child counts once, by the latest proposal among the period's runs. Rows by "
             "need count a child under each of their needs, so they add up to more than the "
             "total. Setting is the care plan's list of allowed settings. Area is the Sefton "
             "town nearest the child's home (the register keeps no home location)."]
    return Report(f"Sufficiency: {start.isoformat()} to {end.isoformat()}", facts,
                  {"sufficiency_by": pd.DataFrame(by), "unmet_demand": unmet}, notes)


def _outcome(row: dict[str, Any]) -> str:
    if row["kind"] == "unit":
        return "in_borough" if row["in_borough"] else "out_of_borough"
    return "fallback" if row["kind"] == "fallback" else "unplaced"


def _sufficiency_row(dimension: str, value: str, group: pd.DataFrame) -> dict[str, Any]:
    counts = group["outcome"].value_counts()
    row: dict[str, Any] = {"dimension": dimension, "value": value,
                           "children": int(group["child_id"].nunique())}
    row |= {o: int(counts.get(o, 0)) for o in OUTCOMES}
    unmet = row["fallback"] + row["unplaced"]
    row["unmet_percent"] = round(100 * unmet / row["children"], 1) if row["children"] else 0.0
    row["fallback_weekly_gbp"] = int(group["weekly_pence"].sum()) / 100
    return row
