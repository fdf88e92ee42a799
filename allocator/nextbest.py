"""The runner-up for each placement, and what it would cost the whole allocation: measured.

"Why not the other unit?" deserves a number, not a guess. For an entity (a child, or a
sibling group kept together) we force each alternative column in turn and re-solve the whole
allocation; the increase in the optimal total is what choosing that alternative would cost.
Re-solves are warm-started dual simplex on the LP relaxation (integral for most forcings on
this transportation-like model) and a MIP only when the forced LP is fractional.

Candidates are tried in order of a valid lower bound on their increase (the reduced cost
less the optimality gap of the LP bound), and the search stops as soon as no untried
candidate can beat the best measured one, so the runner-up is proven, not just sampled.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from allocator.model import Model
from allocator.solve import Solution, _highs, _lagrangian, _sign_duals, objective_of

#: Most alternatives measured for one entity before settling for the best measured so far.
MAX_TRIES = 12


@dataclass(frozen=True)
class RunnerUp:
    column: int  # -1 when the entity had no other option
    extra: int  # pence the whole allocation would cost more
    proven: bool  # no untried alternative could have cost less


class ForcedSolver:
    """Re-solve the allocation with one column forced to 1, reusing one HiGHS instance."""

    def __init__(self, model: Model, seed: int, optimum: int):
        import highspy

        self.model = model
        self.optimum = optimum
        self.solver = _highs(model, seed)
        self.solver.run()
        if self.solver.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            raise RuntimeError("LP relaxation could not be solved for explanations")
        self.duals = _sign_duals(model, np.asarray(self.solver.getSolution().row_dual))
        self.bound, self.reduced = _lagrangian(model, self.duals)
        self.basis = self.solver.getBasis()

    def forced_optimum(self, column: int) -> int:
        """The optimal total with ``column`` forced to 1 (pence)."""
        import highspy

        solver = self.solver
        index = np.array([column], dtype=np.int32)
        solver.changeColsBounds(1, index, np.ones(1), np.ones(1))
        try:
            solver.setBasis(self.basis)
            solver.run()
            status = solver.getModelStatus()
            if status == highspy.HighsModelStatus.kInfeasible:
                return np.iinfo(np.int64).max
            x = np.asarray(solver.getSolution().col_value)
            if np.all(np.minimum(np.abs(x), np.abs(1 - x)) < 1e-7):
                k = self.model.n_columns
                return objective_of(self.model, np.flatnonzero(x[:k] > 0.5),
                                    (x[k:] > 0.5).astype(np.int64))
            return self._forced_mip(column)
        finally:
            solver.changeColsBounds(1, index, np.zeros(1), np.ones(1))

    def _forced_mip(self, column: int) -> int:
        import highspy

        model = self.model
        mip = _highs(model, 0)
        n = model.n_vars
        mip.changeColsIntegrality(n, np.arange(n, dtype=np.int32),
                                  np.full(n, highspy.HighsVarType.kInteger))
        mip.changeColsBounds(1, np.array([column], dtype=np.int32), np.ones(1), np.ones(1))
        mip.setOptionValue("mip_rel_gap", 0.0)
        mip.setOptionValue("mip_abs_gap", 0.99)
        mip.setOptionValue("time_limit", 30.0)
        mip.run()
        if not mip.getSolution().value_valid:
            return np.iinfo(np.int64).max
        x = np.asarray(mip.getSolution().col_value)
        k = model.n_columns
        return objective_of(model, np.flatnonzero(x[:k] > 0.5), (x[k:] > 0.5).astype(np.int64))


def runner_ups(model: Model, solution: Solution, seed: int,
               entities: np.ndarray | None = None) -> dict[int, RunnerUp]:
    """The measured runner-up of every entity (or of ``entities``)."""
    from allocator.greedy import entity_columns

    chosen = np.zeros(model.n_columns, dtype=bool)
    chosen[solution.columns] = True
    forced = ForcedSolver(model, seed, solution.objective)
    slack = max(0.0, solution.objective - forced.bound)
    by_entity, ptr = entity_columns(model)
    out: dict[int, RunnerUp] = {}
    wanted = np.arange(model.n_entities) if entities is None else entities
    for e in wanted:
        columns = by_entity[ptr[e]:ptr[e + 1]]
        # For a group that was split, every together column is an alternative.
        others = columns[~chosen[columns]]
        if not len(others):
            out[int(e)] = RunnerUp(-1, 0, True)
            continue
        lower = np.maximum(forced.reduced[others] - slack, 0.0)
        order = np.lexsort((others, lower))
        best_col, best_extra = -1, np.iinfo(np.int64).max
        proven = True
        for tried, position in enumerate(order):
            if lower[position] >= best_extra:
                break
            if tried == MAX_TRIES:
                proven = False
                break
            col = int(others[position])
            extra = forced.forced_optimum(col) - solution.objective
            if extra < best_extra or (extra == best_extra and col < best_col):
                best_col, best_extra = col, extra
        out[int(e)] = RunnerUp(best_col, int(best_extra), proven)
    return out
