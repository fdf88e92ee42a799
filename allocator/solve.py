"""Solve the allocation model exactly, and say how sure we are.

The pipeline, cheapest first:

1. **Network.** With no sibling groups, conflicts, staff rows or ``capacity_use`` above one,
   the model is a transportation problem: OR-Tools' min-cost flow solves it exactly.
2. **LP.** Otherwise solve the LP relaxation (HiGHS dual simplex). Transportation structure
   makes it integral more often than not, and then it is optimal.
3. **Fix and finish.** Else take the better of two feasible incumbents (greedy, and greedy
   guided by the LP), compute a Lagrangian bound from the LP duals (valid for any duals, so
   solver tolerances cannot make it wrong), drop every column whose reduced cost proves it
   cannot be in a solution as good as the incumbent, and solve the remaining MIP with HiGHS
   to an absolute gap below one penny, warm-started from the incumbent.

Every result carries its objective, a proven lower bound and the gap between them; a time
limit returns the best allocation found with its bound.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from allocator.arrays import Children
from allocator.greedy import place_in_order, priority_order
from allocator.model import Model


@dataclass(frozen=True)
class SolveSettings:
    time_limit_s: float = 30.0
    seed: int = 0
    workers: int = 2


@dataclass(frozen=True)
class Solution:
    """Chosen columns and what was proved about them."""

    columns: np.ndarray
    split: np.ndarray  # 0/1 per split variable
    objective: int  # pence
    bound: int  # pence, a proven lower bound on the optimum
    status: str  # optimal | feasible | heuristic
    method: str
    seconds: float
    stages: dict[str, float] = field(default_factory=dict)
    duals: np.ndarray | None = None  # row duals of the LP relaxation, when one was solved

    @property
    def gap(self) -> float:
        """Relative gap between objective and bound (0 when proven optimal)."""
        if self.objective <= 0:
            return 0.0
        return max(0.0, (self.objective - self.bound) / self.objective)


def objective_of(model: Model, columns: np.ndarray, split: np.ndarray) -> int:
    return int(model.col_cost[columns].sum() + (model.split_cost * split).sum())


def greedy_solution(model: Model, children: Children) -> Solution:
    """Today's practice: one at a time, emergencies first, into the cheapest open option."""
    start = time.perf_counter()
    columns, split = place_in_order(model, priority_order(model, children),
                                    model.col_cost.astype(float))
    return Solution(columns, split, objective_of(model, columns, split), 0, "heuristic",
                    "greedy", time.perf_counter() - start)


def solve(model: Model, children: Children, settings: SolveSettings) -> Solution:
    """Solve to proven optimality, or to the time limit with a bound."""
    start = time.perf_counter()
    if model.is_network():
        columns = _min_cost_flow(model)
        value = objective_of(model, columns, np.zeros(0, np.int64))
        return Solution(columns, np.zeros(0, np.int64), value, value, "optimal", "network",
                        time.perf_counter() - start,
                        {"network": time.perf_counter() - start})
    return _solve_mip(model, children, settings, start)


def _min_cost_flow(model: Model) -> np.ndarray:
    """Source -> entity -> unit/fallback -> sink; unplaced columns go straight to the sink."""
    from ortools.graph.python import min_cost_flow

    E, m, F = model.n_entities, model.n_units, model.n_fallbacks
    source, sink = 0, 1 + E + m + F
    flow = min_cost_flow.SimpleMinCostFlow()
    ones = np.ones(E, dtype=np.int64)
    flow.add_arcs_with_capacity_and_unit_cost(np.full(E, source), 1 + np.arange(E), ones,
                                              np.zeros(E, dtype=np.int64))
    option = model.col_option
    head = np.where(option == model.unplaced_option, sink, 1 + E + option)
    first_col_arc = E
    flow.add_arcs_with_capacity_and_unit_cost(1 + model.col_entity, head,
                                              np.ones(model.n_columns, dtype=np.int64),
                                              model.col_cost.astype(np.int64))
    room = np.where(model.max_new < 0, model.vacancies,
                    np.minimum(model.vacancies, model.max_new)).astype(np.int64)
    flow.add_arcs_with_capacity_and_unit_cost(1 + E + np.arange(m), np.full(m, sink), room,
                                              np.zeros(m, dtype=np.int64))
    fb_room = np.where(model.fallback_capacity < 0, E, model.fallback_capacity).astype(np.int64)
    flow.add_arcs_with_capacity_and_unit_cost(1 + E + m + np.arange(F), np.full(F, sink),
                                              fb_room, np.zeros(F, dtype=np.int64))
    flow.set_nodes_supplies(np.array([source, sink]), np.array([E, -E]))
    status = flow.solve()
    if status != flow.OPTIMAL:  # pragma: no cover - every entity has an unplaced arc
        raise RuntimeError(f"min-cost flow ended with status {status}")
    arcs = first_col_arc + np.arange(model.n_columns)
    used = flow.flows(arcs) > 0
    return np.flatnonzero(used).astype(np.int64)


def new_highs():
    """A silent HiGHS instance.

    highspy's ``Highs`` wrapper prints a banner to stdout when it is built, before any
    option can be set, which would corrupt the CLI's output; the core class it wraps does
    not, and has every method used here.
    """
    import highspy

    try:
        from highspy._core import _Highs as Core
    except ImportError:  # pragma: no cover - a future highspy layout
        Core = highspy.Highs
    solver = Core()
    solver.setOptionValue("output_flag", False)
    return solver


def _highs(model: Model, seed: int):
    import highspy

    order = np.lexsort((model.a_row, model.a_col))
    a_col, a_row, a_val = model.a_col[order], model.a_row[order], model.a_val[order]
    n = model.n_vars
    lp = highspy.HighsLp()
    lp.num_col_ = n
    lp.num_row_ = len(model.row_lower)
    lp.col_cost_ = np.concatenate([model.col_cost, model.split_cost]).astype(float)
    lp.col_lower_ = np.zeros(n)
    lp.col_upper_ = np.ones(n)
    lp.row_lower_ = model.row_lower
    lp.row_upper_ = model.row_upper
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = np.searchsorted(a_col, np.arange(n + 1)).astype(np.int32)
    lp.a_matrix_.index_ = a_row.astype(np.int32)
    lp.a_matrix_.value_ = a_val
    solver = new_highs()
    solver.setOptionValue("random_seed", int(seed))
    solver.setOptionValue("threads", 1)
    solver.passModel(lp)
    return solver


def _solve_mip(model: Model, children: Children, settings: SolveSettings,
               start: float) -> Solution:
    import highspy

    from allocator.lp import RestrictedLP

    stages: dict[str, float] = {}
    deadline = start + settings.time_limit_s
    lp = RestrictedLP(model, settings.seed)
    lp.optimise(deadline)
    stages["lp"] = time.perf_counter() - start
    stages["lp_columns"] = float(len(lp.active))
    stages["cuts"] = float(len(lp.cut_upper))
    x = lp.x()
    lagrangian, reduced, duals = lp.lagrangian()
    bound = int(np.ceil(lagrangian - 1e-6))
    k = model.n_columns
    if _integral(x):
        columns = np.flatnonzero(x[:k] > 0.5)
        split = (x[k:] > 0.5).astype(np.int64)
        value = objective_of(model, columns, split)
        if value <= bound:
            return Solution(columns, split, value, value, "optimal", "lp",
                            time.perf_counter() - start, stages, duals)
    solver = lp.solver
    candidates = [
        place_in_order(model, priority_order(model, children), model.col_cost.astype(float)),
        place_in_order(model, _lp_order(model, x), model.col_cost - x[:k] * 1e13),
    ]
    if _integral(x):
        candidates.append((np.flatnonzero(x[:k] > 0.5), (x[k:] > 0.5).astype(np.int64)))
    _set_integral(lp, highspy)
    solver.setOptionValue("mip_rel_gap", 0.0)
    solver.setOptionValue("mip_abs_gap", 0.99)
    rounded = _fix_and_finish(lp, x, deadline)
    if rounded is not None:
        candidates.append(rounded)
    columns, split = min(candidates, key=lambda c: (objective_of(model, *c), tuple(c[0])))
    incumbent = objective_of(model, columns, split)
    stages["incumbent"] = time.perf_counter() - start
    if incumbent <= bound:
        return Solution(columns, split, incumbent, incumbent, "optimal", "lp+heuristic",
                        time.perf_counter() - start, stages, duals)
    # Reduced-cost fixing: a column whose reduced cost exceeds incumbent - bound cannot be
    # in any allocation at least as good as the incumbent. The survivors join the MIP.
    keep = np.maximum(reduced, 0.0) <= (incumbent - lagrangian) + 0.5
    keep[columns] = True
    keep[k:] = True
    lp.add(np.flatnonzero(keep))
    _set_integral(lp, highspy)
    active = np.array(lp.active, dtype=np.int64)
    dropped = lp.position[active[~keep[active]]].astype(np.int32)
    if len(dropped):
        solver.changeColsBounds(len(dropped), dropped, np.zeros(len(dropped)),
                                np.zeros(len(dropped)))
    stages["mip_columns"] = float(keep[:k].sum())
    found = _run_mip(lp, columns, split, deadline)
    stages["mip"] = time.perf_counter() - start
    if found is not None and objective_of(model, *found[:2]) < incumbent:
        columns, split = found[0], found[1]
        incumbent = objective_of(model, columns, split)
    if found is not None:
        bound = max(bound, min(found[2], incumbent))
    return Solution(columns, split, incumbent, bound,
                    "optimal" if bound >= incumbent else "feasible", "lp+mip",
                    time.perf_counter() - start, stages, duals)


def _set_integral(lp, highspy) -> None:
    n = len(lp.active)
    lp.solver.changeColsIntegrality(n, np.arange(n, dtype=np.int32),
                                    np.full(n, highspy.HighsVarType.kInteger))


def _integral(x: np.ndarray) -> bool:
    return bool(np.all(np.minimum(np.abs(x), np.abs(1 - x)) < 1e-7))


def _run_mip(lp, columns: np.ndarray | None, split: np.ndarray | None,
             deadline: float) -> tuple[np.ndarray, np.ndarray, int] | None:
    """Run HiGHS's MIP from a warm start; the solution found (checked) and the proven bound."""
    import highspy

    model, solver = lp.model, lp.solver
    k = model.n_columns
    if columns is not None and split is not None:
        start_point = np.zeros(model.n_vars)
        start_point[columns] = 1
        start_point[k:] = split
        warm = highspy.HighsSolution()
        warm.col_value = start_point[lp.active]
        warm.value_valid = True
        solver.setSolution(warm)
    solver.setOptionValue("time_limit", float(max(deadline - time.perf_counter(), 0.1)))
    solver.run()
    result = solver.getSolution()
    if not result.value_valid:
        return None
    y = np.zeros(model.n_vars)
    y[lp.active] = np.asarray(result.col_value)[:len(lp.active)]
    found = np.flatnonzero(y[:k] > 0.5)
    found_split = (y[k:] > 0.5).astype(np.int64)
    if not feasible(model, found, found_split):  # pragma: no cover - a solver tolerance slip
        return None
    value = objective_of(model, found, found_split)
    proven = solver.getModelStatus() == highspy.HighsModelStatus.kOptimal
    dual_bound = solver.getInfo().mip_dual_bound
    bound = value if proven else (int(np.ceil(dual_bound - 1e-6)) if np.isfinite(dual_bound)
                                  else -(2**62))
    return found, found_split, bound


def _fix_and_finish(lp, x: np.ndarray,
                    deadline: float) -> tuple[np.ndarray, np.ndarray] | None:
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
        found = _run_mip(lp, None, None, budget)
    finally:
        lp.solver.changeColsBounds(len(fix), fix, np.zeros(len(fix)), np.ones(len(fix)))
    return None if found is None else (found[0], found[1])


def _lp_order(model: Model, x: np.ndarray) -> np.ndarray:
    """Deciding entities, the most settled by the LP first."""
    from allocator.model import MEMBER

    best = np.zeros(model.n_entities)
    np.maximum.at(best, model.col_entity, x[:model.n_columns])
    deciding = np.flatnonzero(model.entity_kind != MEMBER)
    return deciding[np.lexsort((deciding, -best[deciding]))]


def _sign_duals(model: Model, duals: np.ndarray) -> np.ndarray:
    """Project duals onto the signs a minimisation's Lagrangian needs (<= rows: y <= 0)."""
    y = duals.copy()
    upper_only = np.isinf(model.row_lower) & np.isfinite(model.row_upper)
    y[upper_only] = np.minimum(y[upper_only], 0.0)
    return y


def _lagrangian(model: Model, duals: np.ndarray) -> tuple[float, np.ndarray]:
    """A lower bound valid for any correctly signed duals, and the reduced costs."""
    cost = np.concatenate([model.col_cost, model.split_cost]).astype(float)
    reduced = cost - np.bincount(model.a_col, weights=model.a_val * duals[model.a_row],
                                 minlength=model.n_vars)
    # Every row has a finite upper bound (equalities: upper == lower), and the duals were
    # signed so that y . (A x) >= y . upper for any feasible x.
    value = float(duals @ model.row_upper + np.minimum(reduced, 0.0).sum())
    return value, reduced


def feasible(model: Model, columns: np.ndarray, split: np.ndarray) -> bool:
    """Every row holds for this choice (a guard on anything a solver hands back)."""
    x = np.zeros(model.n_vars)
    x[columns] = 1
    x[model.n_columns:] = split
    activity = np.bincount(model.a_row, weights=model.a_val * x[model.a_col],
                           minlength=len(model.row_lower))
    return bool(np.all(activity >= model.row_lower - 1e-9)
                and np.all(activity <= model.row_upper + 1e-9))
