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
   to an absolute gap below one penny, cold (a warm start made HiGHS 1.16 misreport its
   result; see `allocator/exact.py`), keeping the incumbent if the MIP finds nothing better.

Every result carries its objective, a proven lower bound and the gap between them; a time
limit returns the best allocation found with its bound.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from allocator.arrays import Children
from allocator.greedy import place_in_order, priority_order
from allocator.model import GROUP, MEMBER, SINGLE, Model


@dataclass(frozen=True)
class SolveSettings:
    time_limit_s: float = 30.0
    seed: int = 0
    workers: int = 2
    gap: float = 0.0  # relative gap accepted; 0 proves optimality

    def close_enough(self, value: int, bound: int) -> bool:
        """Proven optimal, or within the accepted relative gap."""
        return value <= bound or (value - bound) <= self.gap * abs(value)


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
    lagrangian: float | None = None  # the Lagrangian bound those duals give (pence)
    reduced: np.ndarray | None = None  # every variable's reduced cost under those duals

    @property
    def gap(self) -> float:
        """Relative gap between objective and bound (0 when proven optimal)."""
        if self.objective <= 0:
            return 0.0
        return max(0.0, (self.objective - self.bound) / self.objective)


def cheapest_bound(model: Model) -> int:
    """A lower bound that needs no solver: every entity in its cheapest option, places ignored.

    A split-able sibling group counts the cheaper of going together and going apart (the
    split weight plus each member's cheapest). Weak, but it holds whatever happened, so a
    run the time limit stopped before its LP settled still reports a sensible bound rather
    than the Lagrangian of half-solved duals.
    """
    if not model.n_entities:
        return 0
    cheapest = np.full(model.n_entities, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(cheapest, model.col_entity, model.col_cost.astype(np.int64))
    kind = model.entity_kind
    total = int(cheapest[(kind == SINGLE) | (kind == GROUP)].sum())
    if len(model.split_together):
        member = np.flatnonzero(kind == MEMBER)
        groups = int(model.entity_group.max()) + 1
        members_cheapest = np.bincount(model.entity_group[member], weights=cheapest[member],
                                       minlength=groups).astype(np.int64)
        together = model.split_together
        apart = model.split_cost + members_cheapest[model.entity_group[together]]
        total += int(np.minimum(cheapest[together], apart).sum())
    return total


def objective_of(model: Model, columns: np.ndarray, split: np.ndarray) -> int:
    return int(model.col_cost[columns].sum() + (model.split_cost * split).sum())


def greedy_solution(model: Model, children: Children) -> Solution:
    """Today's practice: one at a time, emergencies first, into the cheapest open option."""
    start = time.perf_counter()
    columns, split = place_in_order(model, priority_order(model, children),
                                    model.col_cost.astype(float))
    return Solution(columns, split, objective_of(model, columns, split), 0, "heuristic",
                    "greedy", time.perf_counter() - start)


def solve(model: Model, children: Children, settings: SolveSettings,
          baseline: Solution | None = None) -> Solution:
    """Solve to proven optimality, or to the time limit with a bound.

    ``baseline`` (a greedy solution of the same model) seeds the incumbent when given.
    """
    from allocator.exact import solve_exact

    start = time.perf_counter()
    if model.is_network():
        columns = _min_cost_flow(model)
        value = objective_of(model, columns, np.zeros(0, np.int64))
        return Solution(columns, np.zeros(0, np.int64), value, value, "optimal", "network",
                        time.perf_counter() - start,
                        {"network": time.perf_counter() - start})
    if baseline is None:
        baseline = greedy_solution(model, children)
    return solve_exact(model, settings, start, [(baseline.columns, baseline.split)])


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


def feasible(model: Model, columns: np.ndarray, split: np.ndarray) -> bool:
    """Every row holds for this choice (a guard on anything a solver hands back)."""
    x = np.zeros(model.n_vars)
    x[columns] = 1
    x[model.n_columns:] = split
    activity = np.bincount(model.a_row, weights=model.a_val * x[model.a_col],
                           minlength=len(model.row_lower))
    return bool(np.all(activity >= model.row_lower - 1e-9)
                and np.all(activity <= model.row_upper + 1e-9))
