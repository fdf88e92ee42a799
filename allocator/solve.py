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

    stages: dict[str, float] = {}
    solver = _highs(model, settings.seed)
    solver.setOptionValue("time_limit", float(max(settings.time_limit_s, 0.1)))
    solver.run()
    stages["lp"] = time.perf_counter() - start
    if solver.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        status = solver.modelStatusToString(solver.getModelStatus())
        raise RuntimeError(f"LP relaxation ended with {status}")
    solution = solver.getSolution()
    x = np.asarray(solution.col_value)
    duals = _sign_duals(model, np.asarray(solution.row_dual))
    k = model.n_columns
    if np.all(np.minimum(np.abs(x), np.abs(1 - x)) < 1e-7):
        columns = np.flatnonzero(x[:k] > 0.5)
        split = (x[k:] > 0.5).astype(np.int64)
        value = objective_of(model, columns, split)
        bound = min(value, int(np.ceil(solver.getInfo().objective_function_value - 1e-6)))
        return Solution(columns, split, value, bound, "optimal", "lp",
                        time.perf_counter() - start, stages, duals)
    # An incumbent: the better of greedy and greedy guided by the LP values.
    candidates = [
        place_in_order(model, priority_order(model, children), model.col_cost.astype(float)),
        place_in_order(model, _lp_order(model, x), model.col_cost - x[:k] * 1e13),
    ]
    columns, split = min(candidates, key=lambda c: (objective_of(model, *c), tuple(c[0])))
    incumbent = objective_of(model, columns, split)
    stages["incumbent"] = time.perf_counter() - start
    lagrangian, reduced = _lagrangian(model, duals)
    bound = int(np.ceil(lagrangian - 1e-6))
    if incumbent <= bound:
        return Solution(columns, split, incumbent, incumbent, "optimal", "lp+heuristic",
                        time.perf_counter() - start, stages, duals)
    # Reduced-cost fixing: a column with reduced cost above incumbent - bound cannot be in
    # any allocation at least as good as the incumbent.
    keep = np.maximum(reduced, 0.0) <= (incumbent - lagrangian) + 0.5
    keep[columns] = True
    keep[k:] = True
    dropped = np.flatnonzero(~keep).astype(np.int32)
    if len(dropped):
        solver.changeColsBounds(len(dropped), dropped, np.zeros(len(dropped)),
                                np.zeros(len(dropped)))
    n = model.n_vars
    solver.changeColsIntegrality(n, np.arange(n, dtype=np.int32),
                                 np.full(n, highspy.HighsVarType.kInteger))
    start_point = np.zeros(n)
    start_point[columns] = 1
    start_point[k:] = split
    warm = highspy.HighsSolution()
    warm.col_value = start_point
    warm.value_valid = True
    solver.setSolution(warm)
    solver.setOptionValue("mip_rel_gap", 0.0)
    solver.setOptionValue("mip_abs_gap", 0.99)
    remaining = settings.time_limit_s - (time.perf_counter() - start)
    solver.setOptionValue("time_limit", float(max(remaining, 0.1)))
    solver.run()
    stages["mip"] = time.perf_counter() - start
    stages["mip_columns"] = float(keep[:k].sum())
    info = solver.getInfo()
    status = solver.getModelStatus()
    if solver.getSolution().value_valid:
        y = np.asarray(solver.getSolution().col_value)
        found = np.flatnonzero(y[:k] > 0.5)
        found_split = (y[k:] > 0.5).astype(np.int64)
        if objective_of(model, found, found_split) < incumbent and feasible(model, found,
                                                                             found_split):
            columns, split = found, found_split
            incumbent = objective_of(model, columns, split)
    proven = status == highspy.HighsModelStatus.kOptimal
    mip_bound = incumbent if proven else int(np.ceil(info.mip_dual_bound - 1e-6))
    bound = max(bound, min(mip_bound, incumbent))
    return Solution(columns, split, incumbent, bound,
                    "optimal" if bound >= incumbent else "feasible", "lp+mip",
                    time.perf_counter() - start, stages, duals)


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
