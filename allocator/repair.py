"""A feasible re-allocation with one column forced in, found by a few local moves.

A runner-up left unmeasured (no displacement chain for a child with side rules, and no
forced re-solve left in the budget) used to read "extra cost not measured", although the
contract asks for the runner-up *and its extra cost*. Most such alternatives need little:
the option has room, or one or two children there can move to another option of theirs.
:class:`Repair` tries exactly that from the optimal allocation, checking every row of the
model that a move touches, so what it finds is a real allocation that keeps every hard rule,
and its cost less the optimum is an upper bound on the alternative's true extra cost. It
proves nothing about cheaper re-allocations, and the explanation says so.

No child is moved to ``unplaced`` to make room for a child who was placed: a figure of
£100,000 a week is true but tells a commissioner nothing, so such an alternative stays
unmeasured. For a child left unplaced, whose runner-up is a full capped fallback, that
swap is the point (which of two children goes unplaced), and is allowed.
"""

from __future__ import annotations

import numpy as np

from allocator.model import Model
from allocator.sorting import lexsort, ranges

#: Children moved out of the way, at most, for one alternative.
MAX_MOVES = 2
#: Children in each broken row considered for a move, and options tried for each.
MOVERS_TRIED = 8
OPTIONS_TRIED = 8
#: Trial moves in one run, at most: a count, not seconds, so explanations stay byte-identical.
#: The regional batch (1,000 children) needs 12,900 (0.35 s); a 5,000-child market with a
#: full capped fallback needed 130,000 (4-6 s), and stops at this many (about 2 s).
REPAIR_TRIALS = 50_000
#: Slack on row bounds: activities are sums of small integers.
TOLERANCE = 1e-9


class Repair:
    """Row activities of an allocation, and single-column moves checked against them."""

    def __init__(self, model: Model, columns: np.ndarray, split: np.ndarray):
        self.model = model
        n = model.n_vars
        self.start, self.rows, values = model.by_column()
        self.vals = values.astype(float)
        x = np.zeros(n)
        x[columns] = 1.0
        x[model.n_columns:] = split
        self.activity = np.bincount(model.a_row, weights=model.a_val * x[model.a_col],
                                    minlength=len(model.row_lower)).astype(float)
        self.chosen = np.full(model.n_entities, -1, dtype=np.int64)
        self.chosen[model.col_entity[columns]] = columns
        # The chosen columns in each row, cheapest first: who could make room in a broken
        # row, found without scanning a full option's every child (found in review: 9.8 s
        # for a full fallback of 1,845 children, scanned at each of 986 repairs).
        counts = self.start[columns + 1] - self.start[columns]
        member = np.repeat(columns, counts)
        row = self.rows[ranges(self.start[columns], counts)]
        order = lexsort((member, model.col_cost[member], row))
        self.row_members = member[order]
        self.row_ptr = np.searchsorted(row[order], np.arange(len(model.row_lower) + 1))
        self.trials = 0
        # Each entity's columns, cheapest first.
        self.by_entity = lexsort((np.arange(model.n_columns), model.col_cost, model.col_entity))
        self.ptr = np.searchsorted(model.col_entity[self.by_entity],
                                   np.arange(model.n_entities + 1))

    def _column(self, column: int) -> tuple[np.ndarray, np.ndarray]:
        lo, hi = self.start[column], self.start[column + 1]
        return self.rows[lo:hi], self.vals[lo:hi]

    def _shift(self, activity: np.ndarray, out: int, into: int) -> np.ndarray:
        """Apply one move to ``activity`` in place; the rows it touched."""
        rows_out, vals_out = self._column(out)
        rows_in, vals_in = self._column(into)
        activity[rows_out] -= vals_out  # a column meets each row once: no repeated index
        activity[rows_in] += vals_in
        return np.concatenate([rows_out, rows_in])

    def _excess(self, activity: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """How far each of ``rows`` is outside its bounds (0 where it holds)."""
        model = self.model
        value = activity[rows]
        return np.maximum(np.maximum(model.row_lower[rows] - value, value
                                     - model.row_upper[rows]) - TOLERANCE, 0.0)

    def _broken(self, activity: np.ndarray, rows: np.ndarray) -> np.ndarray:
        return np.unique(rows[self._excess(activity, rows) > 0])

    def extra(self, column: int) -> int | None:
        """Pence over the allocation's cost of a feasible allocation that uses ``column``,
        or None if a few moves do not find one."""
        found = self.reallocate(column)
        return None if found is None else found[1]

    def reallocate(self, column: int) -> tuple[list[tuple[int, int]], int] | None:
        """The moves (out, into) of a feasible allocation that uses ``column``, the first
        being the forced one, and the pence it costs over the allocation; or None."""
        model = self.model
        entity = int(model.col_entity[column])
        now = int(self.chosen[entity])
        if now < 0 or self.trials >= REPAIR_TRIALS:
            return None
        activity = self.activity.copy()
        touched = self._shift(activity, now, column)
        extra = int(model.col_cost[column]) - int(model.col_cost[now])
        moved = {entity}
        moves = [(now, column)]
        while True:
            broken = self._broken(activity, touched)
            if not len(broken):
                return moves, extra
            if len(moved) > MAX_MOVES:
                return None
            swap = int(model.col_option[now]) == model.unplaced_option
            move = self._best_move(activity, broken, moved, swap)
            if move is None:
                return None
            out, into = move
            moves.append(move)
            touched = np.concatenate([touched, self._shift(activity, out, into)])
            extra += int(model.col_cost[into]) - int(model.col_cost[out])
            moved.add(int(model.col_entity[out]))

    def _best_move(self, activity: np.ndarray, broken: np.ndarray, moved: set[int],
                   unplace: bool) -> tuple[int, int] | None:
        """The cheapest move of one child in a broken row to another of its options that
        breaks no other row and brings the broken rows nearer their bounds."""
        model = self.model
        broken_set = set(broken.tolist())
        before = float(self._excess(activity, broken).sum())
        movers: set[int] = set()
        for row in broken.tolist():
            members = self.row_members[self.row_ptr[row]:self.row_ptr[row + 1]]
            free = [c for c in members[:MOVERS_TRIED + len(moved)].tolist()
                    if int(model.col_entity[c]) not in moved]
            movers.update(free[:MOVERS_TRIED])
        best: tuple[int, int, int] | None = None
        for out in sorted(movers, key=lambda c: (int(model.col_cost[c]), c))[:MOVERS_TRIED]:
            entity = int(model.col_entity[out])
            options = self.by_entity[self.ptr[entity]:self.ptr[entity + 1]]
            options = options[model.col_option[options] != model.col_option[out]]
            last = model.col_option[options] == model.unplaced_option  # the dearest
            tried = options[~last][:OPTIONS_TRIED]
            if unplace:
                tried = np.concatenate([tried, options[last]])
            for into in tried.tolist():
                cost = int(model.col_cost[into]) - int(model.col_cost[out])
                if best is not None and cost >= best[0]:
                    break  # by cost: no later option of this child is cheaper
                self.trials += 1
                rows = np.concatenate([self._shift(activity, out, into), broken])
                excess = self._excess(activity, rows)
                self._shift(activity, into, out)  # undone: only a trial
                new = set(rows[excess > 0].tolist()) - broken_set
                if not new and excess[len(rows) - len(broken):].sum() < before - TOLERANCE:
                    best = (cost, out, into)
                    break
        return None if best is None else (best[1], best[2])
