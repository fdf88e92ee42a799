"""Exact solving of the side-constrained model: LP, incumbent, reduced-cost fixing, MIP.

1. The LP relaxation by column generation with cover cuts (:class:`RestrictedLP`). An
   integral LP solution whose value meets the Lagrangian bound is optimal.
2. Incumbents: those handed in (greedy), and *fix and finish*: keep every entity the LP
   settled, solve the few unsettled ones exactly against the places left.
3. Reduced-cost fixing: with a Lagrangian bound ``L`` valid for any duals, a column whose
   reduced cost exceeds ``incumbent - L`` cannot be in an allocation at least as good as
   the incumbent. Only the survivors (a few thousand of hundreds of thousands) go on.
4. HiGHS's MIP over the survivors, run cold and its report checked, to an absolute gap
   under one penny (the objective is whole pence, so that is a proof).

A ``forced`` column (used to measure runner-ups) is held at 1 throughout.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np

from allocator.lp import RestrictedLP
from allocator.model import MEMBER, Model
from allocator.solve import Solution, SolveSettings, cheapest_bound, feasible, objective_of

Choice = tuple[np.ndarray, np.ndarray]  # chosen columns, split-variable values
#: The bound of a MIP run whose report could not be trusted: it proves nothing.
NO_BOUND = -(2**62)
#: Columns surviving reduced-cost fixing above which the MIP is first tried on a narrower
#: margin (a national batch's weak incumbent left 120,000; HiGHS took 40 s on them).
RESTRICT_ABOVE = 20_000
#: Columns per entity in that first, narrower MIP (between the two bounds below). HiGHS's
#: time grows faster than the column count: on the regional batch of seed 3 (966 entities)
#: 11,000 columns took 2.2 s, 20,000 took 7.4 s, and 84,000 (a quarter of the margin) 48 s.
NARROW_PER_ENTITY = 10
NARROW_COLUMNS = (5_000, RESTRICT_ABOVE)
#: How much the margin grows after a narrow MIP that proves nothing. HiGHS's time grows
#: faster than the columns, so the last MIP dominates; fourfold steps wasted less than
#: doubling on regional seeds 7 (12.5 s, was 17.1 s) and 9 (27 s, was 42 s).
MARGIN_GROWTH = 4


def solve_exact(model: Model, settings: SolveSettings, start: float,
                incumbents: list[Choice], forced: int | None = None,
                warm: np.ndarray | None = None,
                before_mip: Callable[[Solution], bool] | None = None) -> Solution:
    """The steps of the module docstring; ``warm`` columns start the LP's pricing (see
    :class:`RestrictedLP`), ``forced`` is held at 1. ``before_mip`` sees the LP's solution
    (its incumbent, bound and duals) before a MIP would run, and returns True to have it
    returned as it is: a market priced in rounds skips the MIP while pairs outside the
    model still price out (allocator/universe.py)."""
    import highspy

    stages: dict[str, float] = {}
    deadline = start + settings.time_limit_s
    lp = RestrictedLP(model, settings.seed, warm)
    if forced is not None:
        _force(lp, forced)
    finished = lp.optimise(deadline)
    stages["lp"] = time.perf_counter() - start
    if not finished:
        return _out_of_time(model, lp, incumbents, forced, start, stages)
    stages["lp_columns"] = float(len(lp.active))
    stages["cuts"] = float(len(lp.cut_upper))
    x = lp.x()
    lagrangian, reduced, duals = lp.lagrangian()
    if forced is not None:  # the bound of the forced problem also counts the forced column
        lagrangian += max(float(reduced[forced]), 0.0)
    bound = int(np.ceil(lagrangian - 1e-6))
    if forced is None:  # weak duals (cuts cut short) may give less than the solver-free floor
        bound = max(bound, cheapest_bound(model))
    k = model.n_columns
    # Incumbents handed in are checked, not trusted: one that breaks a rule could undercut
    # every real allocation and be returned as the optimum.
    candidates = [c for c in incumbents if (forced is None or forced in set(c[0].tolist()))
                  and feasible(model, *c)]
    if _integral(x):
        candidates.append((np.flatnonzero(x[:k] > 0.5), (x[k:] > 0.5).astype(np.int64)))
    if candidates:
        best = min(candidates, key=lambda c: (objective_of(model, *c), tuple(c[0])))
        if objective_of(model, *best) <= bound:
            value = objective_of(model, *best)
            return Solution(best[0], best[1], value, value, "optimal", "lp",
                            time.perf_counter() - start, stages, duals, lagrangian, reduced)
    if time.perf_counter() >= deadline:  # no time for a MIP: the incumbent and the bound
        return _out_of_time(model, lp, candidates, forced, start, stages)
    _set_integral(lp, highspy)
    lp.solver.setOptionValue("mip_rel_gap", settings.gap)
    lp.solver.setOptionValue("mip_abs_gap", 0.99)
    rounded = _fix_and_finish(lp, x, deadline, forced, stages)
    if rounded is not None:
        candidates.append(rounded)
    if not candidates:
        raise RuntimeError("no feasible allocation found for the forced option")
    columns, split = min(candidates, key=lambda c: (objective_of(model, *c), tuple(c[0])))
    incumbent = objective_of(model, columns, split)
    stages["incumbent"] = time.perf_counter() - start
    proven = min(incumbent, bound)
    heuristic = Solution(columns, split, incumbent, proven,
                         "optimal" if proven >= incumbent else "feasible", "lp+heuristic",
                         time.perf_counter() - start, stages, duals, lagrangian, reduced)
    if settings.close_enough(incumbent, bound) or time.perf_counter() >= deadline \
            or (before_mip is not None and before_mip(heuristic)):
        return heuristic
    # Reduced-cost fixing: a column whose reduced cost exceeds incumbent - lagrangian cannot
    # be in a better allocation. When that still leaves many columns (a weak incumbent),
    # first solve the MIP over a narrower margin, the one that keeps about ten columns an
    # entity: if its optimum is within that margin of the Lagrangian, every better
    # allocation would have been inside it, so its proof is the whole model's; otherwise
    # its allocation is a better incumbent, and the margin grows fourfold (or becomes the
    # full margin, now smaller, when that is less) until the proof is complete.
    positive = np.maximum(reduced, 0.0)
    margin = incumbent - lagrangian
    if (positive[:k] <= margin + 0.5).sum() > RESTRICT_ABOVE:
        margin = min(margin, _narrow_margin(positive[:k], model.n_entities))
    while True:
        keep = positive <= margin + 0.5
        keep[columns] = True
        keep[k:] = True
        if forced is not None:
            keep[forced] = True
        _restrict(lp, keep, forced, highspy)
        stages["mip_columns"] = float(keep[:k].sum())
        found = _run_mip(lp, deadline, stages)
        stages["mip"] = time.perf_counter() - start
        if found is not None and objective_of(model, *found[:2]) < incumbent:
            columns, split = found[0], found[1]
            incumbent = objective_of(model, columns, split)
        complete = margin + 0.5 >= incumbent - lagrangian  # every better allocation was in
        if found is not None and complete:
            bound = max(bound, min(found[2], incumbent))
        if complete or time.perf_counter() >= deadline \
                or settings.close_enough(incumbent, bound):
            break
        margin = min(incumbent - lagrangian, MARGIN_GROWTH * margin + 1)
    return Solution(columns, split, incumbent, bound,
                    "optimal" if bound >= incumbent else "feasible", "lp+mip",
                    time.perf_counter() - start, stages, duals, lagrangian, reduced)


def _narrow_margin(positive: np.ndarray, entities: int) -> float:
    """The reduced-cost margin that keeps about ``NARROW_PER_ENTITY`` columns an entity."""
    low, high = NARROW_COLUMNS
    keep = min(max(NARROW_PER_ENTITY * entities, low), high, len(positive))
    return float(np.partition(positive, keep - 1)[keep - 1]) if keep else 0.0


def _restrict(lp: RestrictedLP, keep: np.ndarray, forced: int | None, highspy: Any) -> None:
    """Make the ``keep`` variables active and free (0-1), every other active one fixed at 0."""
    lp.add(np.flatnonzero(keep))
    _set_integral(lp, highspy)
    active = np.array(lp.active, dtype=np.int64)
    for wanted, upper in ((keep[active], 1.0), (~keep[active], 0.0)):
        local = lp.position[active[wanted]].astype(np.int32)
        if len(local):
            lp.solver.changeColsBounds(len(local), local, np.zeros(len(local)),
                                       np.full(len(local), upper))
    if forced is not None:
        _force(lp, forced)


def _out_of_time(model: Model, lp: RestrictedLP, incumbents: list[Choice], forced: int | None,
                 start: float, stages: dict[str, float]) -> Solution:
    """The time limit stopped the LP: the best incumbent, with the bound its duals give."""
    candidates = [c for c in incumbents if forced is None or forced in set(c[0].tolist())]
    if not candidates:
        raise RuntimeError("no feasible allocation found in the time allowed")
    lagrangian, reduced, duals = lp.lagrangian()
    columns, split = min(candidates, key=lambda c: (objective_of(model, *c), tuple(c[0])))
    value = objective_of(model, columns, split)
    floor = cheapest_bound(model) if forced is None else -(2**62)
    bound = min(value, max(int(np.ceil(lagrangian - 1e-6)), floor))
    return Solution(columns, split, value, bound, "optimal" if bound >= value else "feasible",
                    "heuristic+lp-bound", time.perf_counter() - start, stages, duals,
                    lagrangian, reduced)


def solve_forced(model: Model, column: int, deadline: float, seed: int = 0
                 ) -> tuple[int | None, int]:
    """The optimal total (pence) with ``column`` forced in, or None if time ran out; and the
    simplex iterations its MIPs took (the runner-ups' budget counts them)."""
    from allocator.greedy import place_in_order

    order = np.flatnonzero(model.entity_kind != MEMBER)
    entity = model.col_entity[column]
    preference = model.col_cost.astype(float)
    preference[column] = -1e18
    start = time.perf_counter()
    if model.entity_kind[entity] == MEMBER:
        # One child of a group that may split, forced alone: the group splits, so its other
        # members are placed alone too and its together choice is not placed at all (found
        # in review: placing it as well put the child in two columns, an impossible
        # incumbent that undercut every allocation and was returned as the forced optimum).
        group = model.entity_group[entity]
        split = int(np.flatnonzero(model.split_group == group)[0])
        members = np.flatnonzero((model.entity_kind == MEMBER) & (model.entity_group == group))
        order = np.concatenate([[entity], members[members != entity],
                                order[order != model.split_together[split]]])
        columns, split_values = place_in_order(model, order, preference)
        split_values[split] = 1
        greedy = (columns, split_values)
    else:
        greedy = place_in_order(model, np.concatenate([[entity], order[order != entity]]),
                                preference)
    settings = SolveSettings(time_limit_s=max(deadline - start, 0.1), seed=seed)
    try:
        result = solve_exact(model, settings, start, [greedy], forced=column)
    except RuntimeError:
        return None, 0
    iterations = int(result.stages.get("mip_iterations", 0))
    return (result.objective if result.status == "optimal" else None), iterations


def _force(lp: RestrictedLP, column: int) -> None:
    lp.add(np.array([column]))
    local = np.array([lp.position[column]], dtype=np.int32)
    lp.solver.changeColsBounds(1, local, np.ones(1), np.ones(1))


def _set_integral(lp: RestrictedLP, highspy: Any) -> None:
    n = len(lp.active)
    lp.solver.changeColsIntegrality(n, np.arange(n, dtype=np.int32),
                                    np.full(n, highspy.HighsVarType.kInteger))


def _integral(x: np.ndarray) -> bool:
    return bool(np.all(np.minimum(np.abs(x), np.abs(1 - x)) < 1e-7))


def _run_mip(lp: RestrictedLP, deadline: float, stages: dict[str, float] | None = None
             ) -> tuple[np.ndarray, np.ndarray, int] | None:
    """Run HiGHS's MIP cold; the solution found (checked) and the bound it proves.

    HiGHS's word is checked, not taken. Warm-started with ``setSolution`` on the regional
    benchmark (seed 1), HiGHS 1.16 reported "optimal" at objectives up to £1,400 below the
    true optimum while handing back the warm start itself (13p above the optimum with
    wider pricing rounds); run cold, the same model gave the optimum, consistently. So the
    MIP runs cold (the caller keeps its own incumbent anyway), in a fresh HiGHS instance
    holding a copy of the LP's current model, and its bound is HiGHS's dual bound only
    when the objective it reports is the objective of the solution it returns; otherwise
    the caller's Lagrangian bound stands alone.
    """
    from allocator.solve import new_highs

    model = lp.model
    solver = new_highs()
    for option in ("random_seed", "threads", "mip_rel_gap", "mip_abs_gap"):
        solver.setOptionValue(option, lp.solver.getOptionValue(option)[1])
    solver.passModel(lp.solver.getModel())
    solver.setOptionValue("time_limit", float(max(deadline - time.perf_counter(), 0.1)))
    solver.run()
    info = solver.getInfo()
    if stages is not None:  # a deterministic measure of the work, unlike seconds
        stages["mip_iterations"] = stages.get("mip_iterations", 0.0) + max(
            float(info.simplex_iteration_count), 0.0)
    result = solver.getSolution()
    if not result.value_valid:
        return None
    k = model.n_columns
    y = np.zeros(model.n_vars)
    y[lp.active] = np.asarray(result.col_value)[:len(lp.active)]
    found = np.flatnonzero(y[:k] > 0.5)
    found_split = (y[k:] > 0.5).astype(np.int64)
    if not feasible(model, found, found_split):  # pragma: no cover - a solver tolerance slip
        return None
    value = objective_of(model, found, found_split)
    dual_bound = float(info.mip_dual_bound)
    if abs(float(info.objective_function_value) - value) >= 0.5 or not np.isfinite(dual_bound):
        return found, found_split, NO_BOUND
    # Objectives are whole pence, so a dual bound within a penny of the value proves it.
    return found, found_split, min(int(np.ceil(dual_bound - 1e-6)), value)


def _fix_and_finish(lp: RestrictedLP, x: np.ndarray, deadline: float,
                    forced: int | None, stages: dict[str, float]) -> Choice | None:
    """An incumbent close to the LP: keep what the LP settled, solve the rest exactly.

    The LP relaxation of this model is integral for almost every entity; only a few sibling
    groups and conflicting children stay fractional. Fixing the settled entities to their LP
    choice leaves a MIP over the few unsettled ones (against the places left), which HiGHS
    solves in moments. It is feasible by construction: every entity can be left unplaced.
    """
    model = lp.model
    k = model.n_columns
    settled_col = x[:k] > 1 - 1e-7
    unsettled = np.zeros(model.n_entities, dtype=bool)
    unsettled[model.col_entity[(x[:k] > 1e-7) & ~settled_col]] = True
    for s, group in enumerate(model.split_group):  # split groups decide as one
        if 1e-7 < x[k + s] < 1 - 1e-7:
            unsettled[model.entity_group == group] = True
    fix = lp.position[np.flatnonzero(settled_col & ~unsettled[model.col_entity])]
    fix = fix[fix >= 0].astype(np.int32)
    lp.solver.changeColsBounds(len(fix), fix, np.ones(len(fix)), np.ones(len(fix)))
    try:
        budget = min(deadline, time.perf_counter() + max(1.0, 0.2 * (deadline
                                                                      - time.perf_counter())))
        found = _run_mip(lp, budget, stages)
    finally:
        lp.solver.changeColsBounds(len(fix), fix, np.zeros(len(fix)), np.ones(len(fix)))
        if forced is not None:
            _force(lp, forced)
    return None if found is None else (found[0], found[1])
