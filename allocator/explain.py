"""Turn a solution into rows a commissioner can defend: option, cost, approvals, reasons.

One row per child, in the referrals file's order, with the contract's columns (section 8):
what was chosen, what it costs, the approvals it needs before it takes effect, a one-sentence
reason and the measured runner-up. Unplaced children get the rule that excluded each unit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from allocator.arrays import ROUTES, SETTINGS
from allocator.costs import to_pence
from allocator.eligibility import RULE_TEXT, RULES, exclusion_reasons
from allocator.nextbest import RunnerUp, runner_up_entity
from allocator.problem import Problem
from allocator.solve import Solution
from models.codes import Approval

ALLOCATION_COLUMNS = [
    "child_id", "option", "provider_id", "setting", "route", "place_code", "place_provider",
    "weekly_cost", "objective_cost", "distance_miles", "in_borough", "approvals", "reason",
    "next_best",
]
#: Columns we add after the contract's own: carried-through codes and the "why not" counts.
EXTRA_COLUMNS = ["sibling_group", "urgency", "legal_status", "category_of_need",
                 "next_best_extra", "next_best_proven", "eligible_options", "excluded_by",
                 "conflicts"]


@dataclass(frozen=True)
class Placement:
    """Where each child went: a column, its option and its eligible pair (or -1)."""

    column: np.ndarray
    option: np.ndarray
    pair: np.ndarray
    entity: np.ndarray


def placements(problem: Problem, solution: Solution) -> Placement:
    model = problem.model
    n = model.n_children
    column = np.full(n, -1, dtype=np.int64)
    pair = np.full(n, -1, dtype=np.int64)
    for col in solution.columns:
        lo, hi = model.member_ptr[col], model.member_ptr[col + 1]
        column[model.member_child[lo:hi]] = col
        pair[model.member_child[lo:hi]] = model.member_pair[lo:hi]
    assert (column >= 0).all(), "every child must be in exactly one chosen column"
    return Placement(column, model.col_option[column], pair, model.col_entity[column])


def option_label(problem: Problem, option: int) -> str:
    m = problem.units.m
    fallbacks = problem.inputs.policy.fallbacks
    if option < m:
        return str(problem.units.ids[option])
    if option < m + len(fallbacks):
        return fallbacks[option - m].option
    return "unplaced"


def _money(pence: int | float) -> str:
    return f"£{pence / 100:,.2f}"


def allocation_table(problem: Problem, solution: Solution,
                     runner_up: dict[int, RunnerUp]) -> pd.DataFrame:
    """The rows of ``allocation.csv``, contract columns first."""
    inputs, ch, un, elig = problem.inputs, problem.children, problem.units, problem.elig
    policy = inputs.policy
    place = placements(problem, solution)
    m, F = un.m, len(policy.fallbacks)
    rows = []
    member_cost = _member_costs(problem, place)
    units_eligible = np.bincount(elig.child, minlength=ch.n)
    eligible_count = units_eligible + elig.fallback.sum(axis=1)
    cheaper = _cheaper_columns(problem, place)
    at_unit = place.pair >= 0
    detail = problem.detail(place.pair[at_unit])
    paid, miles, move = (np.zeros(ch.n), np.zeros(ch.n), np.zeros(ch.n, dtype=bool))
    paid[at_unit], miles[at_unit], move[at_unit] = detail.paid, detail.miles, detail.school_move
    kept_apart = _kept_apart(problem, place)
    own_runner = runner_up_entity(problem.model)
    for i in range(ch.n):
        option = int(place.option[i])
        row = {"child_id": ch.ids[i], "option": option_label(problem, option)}
        approvals: list[str] = []
        if option < m:
            setting = SETTINGS[un.setting[option]]
            route = ROUTES[un.route[option]]
            row |= {"provider_id": un.provider[option], "setting": setting, "route": route,
                    "place_code": getattr(policy.place_codes, setting).value,
                    "place_provider": un.ownership[option],
                    "weekly_cost": int(to_pence(paid[i])) / 100,
                    "distance_miles": round(float(miles[i]), 2),
                    "in_borough": bool(un.in_home[option])}
            approvals = _approvals(route, not un.in_home[option], bool(un.at_distance[option]),
                                   bool(move[i]), bool(ch.asc[i]))
        elif option < m + F:
            fallback = policy.fallbacks[option - m]
            setting = fallback.setting.value
            route = fallback.route.value
            school_known = not np.isnan(ch.school[i, 0])
            row |= {"provider_id": "", "setting": setting, "route": route,
                    "place_code": getattr(policy.place_codes, setting).value,
                    "place_provider": "",
                    "weekly_cost": int(to_pence(fallback.weekly_price)) / 100,
                    "distance_miles": round(fallback.distance_miles, 2), "in_borough": False}
            approvals = _approvals(route, True, True, bool(ch.ks4[i]) and school_known,
                                   bool(ch.asc[i]))
        else:
            row |= {"provider_id": "", "setting": "", "route": "", "place_code": "",
                    "place_provider": "", "weekly_cost": 0.0, "distance_miles": None,
                    "in_borough": None}
        row["objective_cost"] = member_cost[i] / 100
        row["approvals"] = ";".join(approvals)
        runner = runner_up.get(int(own_runner[i]) if own_runner[i] >= 0
                               else int(place.entity[i]))
        row["next_best"], row["next_best_extra"], row["next_best_proven"] = _next_best(
            problem, runner)
        row["eligible_options"] = int(eligible_count[i])
        row["excluded_by"] = _excluded_text(elig.excluded[i])
        row["reason"] = _reason(problem, place, i, runner, int(cheaper[i]),
                                int(units_eligible[i]), float(miles[i]), solution) \
            + kept_apart.get(i, "")
        rows.append(row)
    table = pd.DataFrame(rows, columns=[c for c in ALLOCATION_COLUMNS + EXTRA_COLUMNS
                                        if c not in ("sibling_group", "urgency", "legal_status",
                                                     "category_of_need", "conflicts")])
    ref = inputs.referrals
    table["sibling_group"] = ref["sibling_group"].to_numpy()
    table["urgency"] = ref["urgency"].to_numpy()
    table["legal_status"] = ref["legal_status"].to_numpy()
    table["category_of_need"] = ref["category_of_need"].to_numpy()
    table["conflicts"] = conflicts_text(problem)
    return table[ALLOCATION_COLUMNS + EXTRA_COLUMNS]


def _kept_apart(problem: Problem, place: Placement) -> dict[int, str]:
    """A sentence for each child that a conflict kept out of one of its eligible units: the
    other child is placed there. Said whether or not that unit was the cheaper one, as a
    fact the commissioner can weigh; the conflict's reason is carried with it."""
    notes: dict[int, list[str]] = {}
    elig, ids, m = problem.elig, problem.children.ids, problem.units.m
    if not len(problem.conflicts):
        return {}
    # Each child's pairs, found once: a search per conflict cast the 6-million-pair array
    # to the key's type every time (4.4 s on a national batch).
    ptr = np.searchsorted(elig.child, np.arange(len(ids) + 1, dtype=elig.child.dtype))
    for (a, b), why in zip(problem.conflicts.tolist(), problem.conflict_reasons, strict=True):
        for me, other in ((a, b), (b, a)):
            unit = int(place.option[other])
            if unit >= m or int(place.option[me]) == unit:
                continue
            if unit in elig.unit[ptr[me]:ptr[me + 1]]:
                because = f" ({why.strip()})" if why.strip() else ""
                notes.setdefault(me, []).append(
                    f" {ids[other]} is placed in {problem.units.ids[unit]}, one of its eligible "
                    f"units, and the two must not share a unit{because}.")
    return {i: "".join(texts) for i, texts in notes.items()}


def conflicts_text(problem: Problem) -> list[str]:
    """Per child, who it must not share a unit with and why: ``C2 (reason); C5``.

    The contract carries a conflict's ``reason`` to the outputs: a placement kept apart
    from a cheaper unit because another child is there is explained by it.
    """
    ids = problem.children.ids
    items: list[list[str]] = [[] for _ in range(len(ids))]
    for (a, b), why in zip(problem.conflicts.tolist(), problem.conflict_reasons, strict=True):
        for me, other in ((a, b), (b, a)):
            items[me].append(f"{ids[other]} ({why.strip()})" if why.strip() else str(ids[other]))
    return ["; ".join(item) for item in items]


def _next_best(problem: Problem, runner: RunnerUp | None) -> tuple[str, float | None,
                                                                  bool | None]:
    """``next_best`` text, its extra cost in pounds, and whether it is proven least."""
    if runner is None or runner.column < 0:
        return "", None, None
    label = option_label(problem, int(problem.model.col_option[runner.column]))
    if runner.extra < 0 and not runner.proven:
        return f"{label} (extra cost not measured)", None, False
    sign = "+" if runner.extra >= 0 else "-"
    text = f"{label} ({sign}{_money(abs(runner.extra))} a week in total"
    text += ")" if runner.proven else "; a re-allocation at this cost exists, a cheaper one " \
                                      "was not ruled out)"
    return text, runner.extra / 100, runner.proven


def _member_costs(problem: Problem, place: Placement) -> np.ndarray:
    """Each child's own objective term in pence (no sibling_split)."""
    from allocator.costs import fallback_pence, unplaced_pence

    m = problem.units.m
    out = np.full(problem.children.n, unplaced_pence(problem.inputs.policy), dtype=np.int64)
    at_unit = place.option < m
    out[at_unit] = problem.costs.pence[place.pair[at_unit]]
    fb = (place.option >= m) & (place.option < problem.model.unplaced_option)
    out[fb] = fallback_pence(problem.inputs.policy)[place.option[fb] - m]
    return out


def _approvals(route: str, out_of_area: bool, at_distance: bool, school_move: bool,
               adult: bool) -> list[str]:
    needed = []
    if route != "in_house":
        needed.append(Approval.EXECUTIVE_DIRECTOR_CSC.value)
    if out_of_area:
        needed.append(Approval.NOMINATED_OFFICER.value)
    if at_distance:
        needed.append(Approval.DCS.value)
    if school_move:
        needed.append(Approval.KS4_NOMINATED_OFFICER.value)
    if adult:
        needed.append(Approval.EXECUTIVE_DIRECTOR_ASC.value)
    return needed


def _excluded_text(counts: np.ndarray) -> str:
    parts = [f"{RULES[r]} {int(counts[r])}" for r in range(1, len(RULES)) if counts[r]]
    return "; ".join(parts)


def _cheaper_columns(problem: Problem, place: Placement) -> np.ndarray:
    """For each child, how many options of its entity cost less than the one it took."""
    from allocator.greedy import entity_columns

    model = problem.model
    by_entity, ptr = entity_columns(model)
    costs = model.col_cost[by_entity]
    out = np.zeros(problem.children.n, dtype=np.int64)
    for i, col in enumerate(place.column):
        e = model.col_entity[col]
        out[i] = int((costs[ptr[e]:ptr[e + 1]] < model.col_cost[col]).sum())
    return out


#: Why cheaper options went elsewhere, by how the allocation was made. Only a proven optimum
#: may say "best for the whole allocation": greedy fills places one child at a time, and a
#: run stopped by its time limit holds the best allocation found, not a proven one.
TAKEN = {
    "optimal": "best for the whole allocation, as {n} cheaper option(s) served other "
               "children better",
    "heuristic": "{n} cheaper option(s) were already taken when its turn came (greedy: one "
                 "child at a time, emergencies first)",
    "feasible": "{n} cheaper option(s) went to other children in the best allocation found, "
                "which is not proven optimal (see the gap in summary.json)",
}
UNPLACED = {
    "optimal": "every eligible option was needed by children it suits at lower total cost, "
               "or was full; placing this child would cost the allocation more than the "
               "unplaced penalty",
    "heuristic": "every eligible option was full when its turn came (greedy: one child at a "
                 "time, emergencies first), or cost more than the unplaced penalty",
    "feasible": "its eligible options went to other children in the best allocation found, "
                "which is not proven optimal (see the gap in summary.json), or were full",
}


def _reason(problem: Problem, place: Placement, i: int, runner: RunnerUp | None,
            cheaper: int, units_eligible: int, miles: float, solution: Solution) -> str:
    un, policy, model = problem.units, problem.inputs.policy, problem.model
    status = solution.status if solution.status in TAKEN else "feasible"
    option = int(place.option[i])
    m = un.m
    col = int(place.column[i])
    heads = int(model.col_heads[col])
    together = " with its sibling group" if heads > 1 else ""
    if option == model.unplaced_option:
        if units_eligible == 0 and not problem.elig.fallback[i].any():
            return ("Unplaced: no unit or fallback meets the hard rules (see excluded_by); "
                    "the care plan, needs or caps leave no eligible option.")
        return f"Unplaced: {UNPLACED[status]}."
    if option >= m:
        fallback = policy.fallbacks[option - m]
        why = ("no listed unit meets the hard rules" if units_eligible == 0 else
               f"its {units_eligible} eligible listed unit(s) were full or cost more overall")
        return (f"Placed{together} through the {fallback.route.value.upper()} purchasing "
                f"system ({fallback.setting.value}): {why}.")
    where = f"{un.ids[option]} ({SETTINGS[un.setting[option]]}, {ROUTES[un.route[option]]}, " \
            f"{miles:.1f} miles from home)"
    if cheaper == 0:
        return f"Placed{together} in {where}: the lowest-cost of its eligible options."
    extra = "" if (runner is None or runner.column < 0 or not runner.proven
                   or status != "optimal") else (
        f"; the next best choice would cost the allocation {_money(max(runner.extra, 0))} "
        "a week more")
    return f"Placed{together} in {where}: {TAKEN[status].format(n=cheaper)}{extra}."


#: Most rows of ``exclusions.csv`` listing every unit for every unplaced child. A national
#: run (17 unplaced x 50,000 units) has 850,000; a scarce market of 2,000 unplaced children
#: x 10,000 units would have 20 million, and building them took 8.5 GB and 37 s (found in a
#: stress test). Beyond this, only the units each child was eligible for (all full) are
#: listed, and summary.json says so; allocation.csv's excluded_by counts every rule anyway.
EXCLUSION_ROWS = 1_000_000
FULL_MEANING = "eligible, but its places went to children it suits at lower total cost"


def exclusions_table(problem: Problem, solution: Solution) -> pd.DataFrame:
    """For each unplaced child, the first rule that excluded each unit ('full': eligible).

    ``attrs["every_unit"]`` is False when the table keeps only the eligible (full) units,
    because every unit for every unplaced child would exceed :data:`EXCLUSION_ROWS` rows.
    """
    place = placements(problem, solution)
    who = np.flatnonzero(place.option == problem.model.unplaced_option)
    m = problem.units.m
    every_unit = len(who) * m <= EXCLUSION_ROWS
    child_parts, unit_parts, rule_parts = [], [], []
    step = max(1, EXCLUSION_ROWS // max(m, 1))
    for start in range(0, len(who), step):  # bounded memory: one block of children at once
        block = who[start:start + step]
        grid = exclusion_reasons(problem.children, problem.units, problem.inputs.policy,
                                 problem.offers, block)
        rows, units = (np.divmod(np.arange(grid.size), m) if every_unit
                       else np.nonzero(grid == 0))
        child_parts.append(block[rows])
        unit_parts.append(units)
        rule_parts.append(grid[rows, units])
    if not child_parts:
        table = pd.DataFrame(columns=["child_id", "unit_id", "rule", "meaning"])
        table.attrs["every_unit"] = True
        return table
    child, unit, rule = (np.concatenate(parts) for parts in (child_parts, unit_parts,
                                                            rule_parts))
    names = np.array(RULES, dtype=object)[rule]
    names[rule == 0] = "full"
    meaning = pd.Series(names).map(RULE_TEXT | {"full": FULL_MEANING})
    table = pd.DataFrame({"child_id": problem.children.ids[child], "unit_id":
                          problem.units.ids[unit], "rule": names, "meaning": meaning.to_numpy()})
    table.attrs["every_unit"] = every_unit
    return table
