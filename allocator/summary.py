"""A short text picture of validated inputs: who is waiting, what is free, and the gap."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from allocator.columns import list_items
from allocator.validate import Inputs
from models.codes import Route, Setting, Urgency

if TYPE_CHECKING:
    from allocator.problem import Problem
    from allocator.solve import Solution


def input_summary(inputs: Inputs) -> str:
    """Children by setting and urgency, places by setting and route, demand against vacancies.

    A child whose plan allows several settings is counted under each, so the demand column
    says how many children *could* use a setting, not a partition of the children.
    """
    referrals, units = inputs.referrals, inputs.units
    settings = list_items(referrals["settings"])
    # One item per (child, setting): the index repeats, so pair them by position, not label.
    urgency = referrals["urgency"].loc[settings.index]
    demand = pd.crosstab(settings.to_numpy(), urgency.to_numpy()).reindex(index=Setting.values(),
                                                    columns=Urgency.values(), fill_value=0)
    places = units.pivot_table(index="setting", columns="route", values="vacancies",
                               aggfunc="sum", fill_value=0)
    places = places.reindex(index=Setting.values(), columns=Route.values(), fill_value=0)
    lines = [
        f"Inputs valid as of {inputs.as_of.isoformat()}: {len(referrals)} referrals, "
        f"{len(units)} units ({int(units['vacancies'].sum())} vacancies) from "
        f"{units['provider_id'].nunique()} providers"
        + (f", {len(inputs.offers)} offers" if inputs.offers is not None else "")
        + (f", {len(inputs.conflicts)} conflicts" if inputs.conflicts is not None else "")
        + ".",
        "",
        "Children by setting allowed and urgency:",
        _table(demand),
        "",
        "Vacancies by setting and route:",
        _table(places),
        "",
        "Demand against vacancies:",
    ]
    for setting in Setting.values():
        wanted = int(demand.loc[setting].sum())
        free = int(places.loc[setting].sum())
        lines.append(f"  {setting:<13} {wanted:>6} children could use it, {free:>6} vacancies")
    if inputs.warnings:
        lines += ["", f"{len(inputs.warnings)} warning(s) printed above."]
    return "\n".join(lines)


def _table(frame: pd.DataFrame) -> str:
    frame = frame.copy()
    frame.index.name = None
    frame.columns.name = None
    return "\n".join("  " + line for line in frame.to_string().splitlines())


def placement_metrics(problem: Problem, solution: Solution) -> dict[str, Any]:
    """Spend, distance, fallback use and unplaced count of one solution, for comparisons."""
    from allocator.costs import to_pence
    from allocator.explain import placements

    place = placements(problem, solution)
    m = problem.units.m
    policy = problem.inputs.policy
    fallbacks = policy.fallbacks
    at_unit = place.option < m
    via_fallback = (place.option >= m) & (place.option < problem.model.unplaced_option)
    paid = np.zeros(problem.children.n)
    dist = np.full(problem.children.n, np.nan)
    detail = problem.detail(place.pair[at_unit])
    paid[at_unit] = detail.paid
    dist[at_unit] = detail.miles
    for k in np.flatnonzero(via_fallback):
        fallback = fallbacks[place.option[k] - m]
        paid[k] = fallback.weekly_price
        dist[k] = fallback.distance_miles
    placed = at_unit | via_fallback
    return {
        "objective": solution.objective / 100,
        # The sum of each child's weekly_cost as written: pence, rounded half away from zero.
        "weekly_cost": int(to_pence(paid[placed]).sum()) / 100,
        "placed": int(placed.sum()),
        "fallback_use": int(via_fallback.sum()),
        "unplaced": int((~placed).sum()),
        "mean_distance_miles": round(float(np.nanmean(dist)), 2) if placed.any() else None,
        "total_distance_miles": round(float(np.nansum(dist)), 2),
        "over_20_miles": int((np.nan_to_num(dist) > 20).sum()),
    }


def allocation_summary(problem: Problem, solution: Solution, table: pd.DataFrame,
                       baseline: Solution, seconds: dict[str, float]) -> dict[str, Any]:
    """What ``summary.json`` holds: the headline, the proof, the spend, the approvals."""
    placed = table[table["option"] != "unplaced"]
    in_units = placed[~placed["option"].str.startswith("fallback:")]
    distance = pd.to_numeric(placed["distance_miles"])
    spend = pd.to_numeric(placed["weekly_cost"])
    approvals = list_items(table["approvals"].fillna("")).value_counts()
    unplaced = table[table["option"] == "unplaced"]
    weeks = problem.inputs.referrals["expected_weeks"].fillna(
        problem.inputs.policy.horizon_weeks).to_numpy(dtype=float)
    committed = float((pd.to_numeric(table["weekly_cost"]).to_numpy() * weeks).sum())
    mine = placement_metrics(problem, solution)
    theirs = placement_metrics(problem, baseline)
    split_groups = [str(problem.children.group_names[g]) for g, w in
                    zip(problem.model.split_group, solution.split, strict=True) if w]
    return {
        "status": solution.status,
        "method": solution.method,
        "as_of": problem.inputs.as_of.isoformat(),
        "children": len(table),
        "placed": len(placed),
        "placed_in_units": len(in_units),
        "placed_via_fallback": len(placed) - len(in_units),
        "unplaced": len(unplaced),
        "total_weekly_cost": round(float(spend.sum()), 2),
        "committed_cost": round(committed, 2),
        "objective": solution.objective / 100,
        "bound": solution.bound / 100,
        "gap": round(solution.gap, 8),
        "gap_pounds": round((solution.objective - solution.bound) / 100, 2),
        "sibling_groups_split": split_groups,
        "runner_ups_proven": int(table["next_best_proven"].fillna(False).astype(bool).sum()),
        "runner_ups_unproven": int((table["next_best_proven"] == False).sum()),  # noqa: E712
        "solve_seconds": round(solution.seconds, 4),
        "seconds": {k: round(v, 4) for k, v in seconds.items()},
        "spend_by_route": _spend_by(placed, "route"),
        "spend_by_setting": _spend_by(placed, "setting"),
        "percent_in_borough": _percent(placed["in_borough"].astype(bool).sum(), len(placed)),
        "percent_over_20_miles": _percent((distance > 20).sum(), len(placed)),
        "mean_distance_miles": round(float(distance.mean()), 2) if len(placed) else None,
        "approvals_needed": {k: int(v) for k, v in sorted(approvals.items())},
        "adult_social_care": table.loc[table["approvals"].str.contains(
            "executive_director_asc", regex=False), "child_id"].tolist(),
        "unplaced_children": [{"child_id": r.child_id, "reason": r.reason,
                               "excluded_by": r.excluded_by} for r in unplaced.itertuples()],
        "against_greedy": {
            "greedy": theirs,
            "optimised": mine,
            "saving_objective": round(theirs["objective"] - mine["objective"], 2),
            "saving_weekly_cost": round(theirs["weekly_cost"] - mine["weekly_cost"], 2),
            "saving_total_distance_miles": round(theirs["total_distance_miles"]
                                                 - mine["total_distance_miles"], 2),
            "fewer_over_20_miles": theirs["over_20_miles"] - mine["over_20_miles"],
            "fewer_fallback_placements": theirs["fallback_use"] - mine["fallback_use"],
            "fewer_unplaced": theirs["unplaced"] - mine["unplaced"],
        },
    }


def _spend_by(placed: pd.DataFrame, column: str) -> dict[str, float]:
    totals = pd.to_numeric(placed["weekly_cost"]).groupby(placed[column]).sum()
    return {str(k): round(float(v), 2) for k, v in sorted(totals.items())}


def _percent(part: float, whole: int) -> float:
    return round(100.0 * float(part) / whole, 2) if whole else 0.0


def child_story(row: pd.Series) -> str:
    """A plain-text account of one child's recommendation, for ``result.explain``."""
    lines = [f"Child {row['child_id']}: {row['option']}"]
    if row["option"] != "unplaced":
        lines.append(f"  {row['setting']} via {row['route']}, £{row['weekly_cost']:,.2f} a week"
                     + (f", {row['distance_miles']:.1f} miles from home"
                        if pd.notna(row["distance_miles"]) else ""))
    lines.append(f"  Why: {row['reason']}")
    lines.append(f"  Objective term: £{row['objective_cost']:,.2f} a week")
    if row["approvals"]:
        lines.append("  Approvals needed before it takes effect: "
                     + row["approvals"].replace(";", ", "))
    if row["next_best"]:
        lines.append(f"  Runner-up: {row['next_best']}")
    lines.append(f"  Eligible options: {row['eligible_options']}; units excluded by rule: "
                 f"{row['excluded_by'] or 'none'}")
    return "\n".join(lines)
