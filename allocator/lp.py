"""The LP relaxation over a growing set of columns and cuts, kept warm in one HiGHS instance.

Most of the hundreds of thousands of eligible (entity, option) columns never matter: a child
is placed in one of its few cheapest options. :class:`RestrictedLP` starts from each entity's
cheapest columns, solves, prices *every* column with one sparse product of the duals, adds
those that price out, and repeats (column generation); between rounds it adds cover cuts
where sibling groups share small units (:mod:`allocator.cuts`) and, when those find nothing,
{0, 1/2}-cuts on the odd cycles no single row sees (:mod:`allocator.zerohalf`). HiGHS keeps
its basis, so each re-solve is a few dual simplex pivots.

The Lagrangian bound ``y.b + sum(min(reduced cost, 0))`` is valid for *any* correctly signed
duals ``y``, over all columns (not just the active ones), so the bound and the reduced-cost
fixing built on it do not depend on solver tolerances or on pricing having converged.
"""

from __future__ import annotations

import time

import numpy as np

from allocator.cuts import separate_covers
from allocator.model import Model
from allocator.sorting import lexsort, ranges
from allocator.zerohalf import separate_zero_half

#: Columns per entity in the first restricted LP (its cheapest, plus unplaced).
FIRST_COLUMNS = 10
#: Most columns added per entity in one pricing round.
ADD_PER_ENTITY = 6
#: Pricing rounds before the columns added per entity double (and again each as many).
#: Regional batches settle in 8-11 rounds and bring in the same columns either way; a
#: market of heavy ties took 25 rounds and 10.7 s to settle (64 rounds, 41 s, without).
PRICING_ROUNDS_BEFORE_GROWTH = 8
#: Rounds of {0, 1/2}-cuts (allocator.zerohalf) at most, after covers find nothing. On
#: regional batches (seeds 1-10) three rounds closed most of what twelve did; later rounds
#: add many cuts for little. Eight: seeds 1, 5 and 6 then need no MIP at all.
ZERO_HALF_ROUNDS = 8
#: A column prices out when its reduced cost is below this (pence).
PRICE_TOLERANCE = -1e-6


class LPTimeoutError(Exception):
    """The time limit stopped the simplex before the LP was optimal."""


class RestrictedLP:
    def __init__(self, model: Model, seed: int, warm: np.ndarray | None = None):
        """``warm``: global variables to make active from the start, besides each entity's
        cheapest columns (a start for the pricing, not a restriction of it)."""
        import highspy

        from allocator.solve import new_highs

        self.model = model
        n = model.n_vars
        self.col_start, rows, self.col_vals = model.by_column()
        self.col_rows = rows.astype(np.int32)
        self.cost = np.concatenate([model.col_cost, model.split_cost]).astype(float)
        self.entity = np.concatenate([model.col_entity, np.full(len(model.split_group), -1)])
        self.position = np.full(n, -1, dtype=np.int64)
        self.active: list[int] = []
        self.n_model_rows = len(model.row_lower)
        self.cut_upper: list[float] = []
        self.cut_var: list[np.ndarray] = []
        self.cut_coef: list[np.ndarray] = []
        self.solver = new_highs()
        self.solver.setOptionValue("random_seed", int(seed))
        self.solver.setOptionValue("threads", 1)
        lp = highspy.HighsLp()
        lp.num_col_ = 0
        lp.num_row_ = self.n_model_rows
        lp.row_lower_ = model.row_lower
        lp.row_upper_ = model.row_upper
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.start_ = np.zeros(1, dtype=np.int32)
        lp.a_matrix_.index_ = np.zeros(0, dtype=np.int32)
        lp.a_matrix_.value_ = np.zeros(0)
        self.solver.passModel(lp)
        self.add(self._first_columns() if warm is None
                 else np.concatenate([self._first_columns(), warm]))
        self.pricing_rounds = 0
        self.cut_rounds = 0
        self.zero_half_rounds = 0
        self.timed_out = False

    # -- columns and cuts ---------------------------------------------------------------
    def _first_columns(self) -> np.ndarray:
        model = self.model
        k = model.n_columns
        order = lexsort((model.col_cost, model.col_entity))  # ties: index order
        ptr = np.searchsorted(model.col_entity[order], np.arange(model.n_entities + 1))
        rank = np.arange(k) - np.repeat(ptr[:-1], np.diff(ptr))
        first = order[rank < FIRST_COLUMNS]
        unplaced = np.flatnonzero(model.col_option == model.unplaced_option)
        split = k + np.arange(len(model.split_group))
        return np.unique(np.concatenate([first, unplaced, split]))

    def add(self, variables: np.ndarray) -> None:
        """Make global variables active (a no-op for those that already are)."""
        new = np.asarray(variables, dtype=np.int64)
        new = np.unique(new[self.position[new] < 0])
        if not len(new):
            return
        lo, hi = self.col_start[new], self.col_start[new + 1]
        counts = hi - lo
        take = ranges(lo, counts)
        rows = self.col_rows[take]
        vals = self.col_vals[take]
        owner = np.repeat(np.arange(len(new)), counts)
        cut_owner, cut_rows, cut_vals = self._cut_membership(new)
        if len(cut_owner):
            rows = np.concatenate([rows, cut_rows.astype(np.int32)])
            vals = np.concatenate([vals, cut_vals])
            owner = np.concatenate([owner, cut_owner])
            order = np.argsort(owner, kind="stable")
            rows, vals, owner = rows[order], vals[order], owner[order]
        starts = np.searchsorted(owner, np.arange(len(new))).astype(np.int32)
        self.position[new] = len(self.active) + np.arange(len(new))
        self.active.extend(int(v) for v in new)
        self.solver.addCols(len(new), self.cost[new], np.zeros(len(new)), np.ones(len(new)),
                            len(rows), starts, rows.astype(np.int32), vals)

    def _cut_membership(self, variables: np.ndarray
                        ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(position in ``variables``, cut row, coefficient) for every cut a new variable
        belongs to."""
        if not self.cut_var:
            return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0)
        members = np.concatenate(self.cut_var)
        rows = np.repeat(self.n_model_rows + np.arange(len(self.cut_var)),
                         [len(c) for c in self.cut_var])
        coefs = np.concatenate(self.cut_coef).astype(float)
        hit = np.isin(members, variables)
        return np.searchsorted(variables, members[hit]), rows[hit], coefs[hit]

    def add_cut(self, variables: np.ndarray, upper: float,
                coefficients: np.ndarray | None = None) -> None:
        """Add ``sum(coefficients * x[variables]) <= upper`` over global indices (every
        coefficient 1 when none are given); inactive variables become active."""
        variables = np.asarray(variables, dtype=np.int64)
        coefs = np.ones(len(variables)) if coefficients is None \
            else np.asarray(coefficients, dtype=float)
        variables, position = np.unique(variables, return_inverse=True)
        coefs = np.bincount(position, weights=coefs, minlength=len(variables))
        self.add(variables)
        local = self.position[variables].astype(np.int32)
        self.solver.addRows(1, np.array([-np.inf]), np.array([float(upper)]), len(local),
                            np.array([0], dtype=np.int32), local, coefs)
        self.cut_var.append(variables)
        self.cut_coef.append(coefs)
        self.cut_upper.append(float(upper))

    # -- solving and reading ------------------------------------------------------------
    def run(self, deadline: float) -> None:
        import highspy

        # HiGHS counts time_limit against its run clock, which adds up over every run() of
        # one instance (checked on 1.16: a third re-solve given 1.5 s stopped at once, the
        # first two having used 1.07 s). Found in a stress test: the LP re-solved many times
        # timed out at about half the run's limit. So the limit is that clock plus the time
        # left.
        left = max(deadline - time.perf_counter(), 0.05)
        self.solver.setOptionValue("time_limit", float(self.solver.getRunTime() + left))
        self.solver.run()
        status = self.solver.getModelStatus()
        if status == highspy.HighsModelStatus.kTimeLimit:
            raise LPTimeoutError
        if status != highspy.HighsModelStatus.kOptimal:
            raise RuntimeError("LP relaxation ended with "
                               + self.solver.modelStatusToString(status))

    def x(self) -> np.ndarray:
        """Primal values over all global variables (0 for inactive ones)."""
        out = np.zeros(self.model.n_vars)
        out[self.active] = np.asarray(self.solver.getSolution().col_value)[:len(self.active)]
        return out

    def duals(self) -> tuple[np.ndarray, np.ndarray]:
        """Row duals of the model rows and of the cuts, signed for a valid Lagrangian."""
        y = np.asarray(self.solver.getSolution().row_dual, dtype=float).copy()
        model = self.model
        base = y[:self.n_model_rows]
        upper_only = np.isinf(model.row_lower) & np.isfinite(model.row_upper)
        base[upper_only] = np.minimum(base[upper_only], 0.0)
        cuts = np.minimum(y[self.n_model_rows:], 0.0)
        return base, cuts

    def reduced_costs(self, base: np.ndarray, cuts: np.ndarray) -> np.ndarray:
        """Reduced cost of every global variable, active or not."""
        model = self.model
        reduced = self.cost - np.bincount(model.a_col, weights=model.a_val * base[model.a_row],
                                          minlength=model.n_vars)
        for c, members in enumerate(self.cut_var):
            reduced[members] -= cuts[c] * self.cut_coef[c]
        return reduced

    def lagrangian(self) -> tuple[float, np.ndarray, np.ndarray]:
        """A valid lower bound, the reduced costs and the row duals of the model rows."""
        base, cuts = self.duals()
        reduced = self.reduced_costs(base, cuts)
        value = float(base @ self.model.row_upper + cuts @ np.array(self.cut_upper)
                      + np.minimum(reduced, 0.0).sum())
        return value, reduced, base

    def optimise(self, deadline: float, max_rounds: int = 60) -> bool:
        """Column generation, cover cuts and (a few rounds of) {0, 1/2}-cuts until none finds
        anything.

        Pricing runs until no column prices out: a Lagrangian bound from duals it has not
        settled can be worthless (a stress test's market of identical children, cut off at
        60 rounds, reported a bound of -£7.4 billion and its MIP then kept every column).
        ``max_rounds`` caps the rounds of cuts. Returns False when the time limit stopped
        it; the duals held are then still usable for a (weaker, but valid) bound.
        """
        separations = 0
        while separations < max_rounds:
            try:
                self.run(deadline)
            except LPTimeoutError:
                self.timed_out = True
                return False
            base, cuts = self.duals()
            reduced = self.reduced_costs(base, cuts)
            if self._price(reduced):
                self.pricing_rounds += 1
                if time.perf_counter() > deadline:  # each run gets a sliver, and finishes
                    self.timed_out = True
                    return False
                continue
            separations += 1
            x = self.x()
            found = [(variables, upper, None) for variables, upper
                     in separate_covers(self.model, x)]
            if not found and self.zero_half_rounds < ZERO_HALF_ROUNDS:
                found = self._zero_half(x)
                self.zero_half_rounds += 1
            if not found:
                return True
            if time.perf_counter() > deadline:
                return False
            for variables, upper, coefficients in found:
                self.add_cut(variables, upper, coefficients)
            self.cut_rounds += 1
        # Out of rounds: the last columns or cuts added are not solved yet. Solve once more,
        # so that the solution and duals read next belong to the model as it stands (the
        # Lagrangian bound is valid either way; pricing may simply not have converged).
        try:
            self.run(deadline)
        except LPTimeoutError:
            self.timed_out = True
            return False
        return True

    def _zero_half(self, x: np.ndarray) -> list[tuple[np.ndarray, float, np.ndarray | None]]:
        """{0, 1/2}-cuts over the model rows and the cuts so far (see allocator.zerohalf)."""
        model = self.model
        rows, cols, vals = [model.a_row], [model.a_col], [model.a_val]
        for c, members in enumerate(self.cut_var):
            rows.append(np.full(len(members), self.n_model_rows + c))
            cols.append(members)
            vals.append(self.cut_coef[c])
        n_cuts = len(self.cut_var)
        found = separate_zero_half(
            np.concatenate(rows), np.concatenate(cols), np.concatenate(vals).astype(float),
            np.concatenate([model.row_lower, np.full(n_cuts, -np.inf)]),
            np.concatenate([model.row_upper, np.array(self.cut_upper)]), x)
        return [(variables, upper, coefficients) for variables, coefficients, upper in found]

    def _price(self, reduced: np.ndarray) -> bool:
        """Bring in each entity's most negative columns; True if any priced out.

        After :data:`PRICING_ROUNDS_BEFORE_GROWTH` rounds the batch per entity doubles every
        as many rounds again: a market of a few kinds of identical child and unit (ties
        everywhere) needed 64 rounds of 6 and brought in two thirds of all columns.
        """
        candidates = np.flatnonzero((self.position < 0) & (reduced < PRICE_TOLERANCE))
        if not len(candidates):
            return False
        order = candidates[lexsort((reduced[candidates], self.entity[candidates]))]
        entity = self.entity[order]
        first = np.searchsorted(entity, entity, side="left")
        rank = np.arange(len(order)) - first
        growth = 2 ** min(self.pricing_rounds // PRICING_ROUNDS_BEFORE_GROWTH, 10)
        self.add(order[rank < ADD_PER_ENTITY * growth])
        return True
