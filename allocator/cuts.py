"""Cover cuts for unit capacity rows, where the LP relaxation of this model is weak.

Single children on units form a transportation problem, whose LP is integral. What stays
fractional is a sibling group in a small unit: with two places, the LP happily puts half of a
group of two there (one place) beside a whole single child (one place), an allocation no real
home can take. A *cover* is a set of columns whose places exceed the unit's capacity, so they
cannot all be chosen: ``sum(x[C]) <= |C| - 1``; extended by every other column at least as
large as the largest in the cover, it stays valid and cuts off exactly these half-groups.
"""

from __future__ import annotations

import numpy as np

from allocator.model import ROW_ADMISSION, ROW_FALLBACK, ROW_STAFF, ROW_VACANCY, Model

FRACTIONAL = 1e-7
VIOLATION = 1e-6


def separate_covers(model: Model, x: np.ndarray) -> list[tuple[np.ndarray, float]]:
    """Violated extended cover inequalities at the LP point ``x`` (global variable values)."""
    knapsack = np.isin(model.row_kind, [ROW_VACANCY, ROW_STAFF, ROW_ADMISSION, ROW_FALLBACK])
    entries = np.flatnonzero(knapsack[model.a_row])
    if not len(entries):
        return []
    values = x[model.a_col[entries]]
    fractional_rows = np.unique(model.a_row[entries[(values > FRACTIONAL)
                                                    & (values < 1 - FRACTIONAL)]])
    if not len(fractional_rows):
        return []
    mine = entries[np.isin(model.a_row[entries], fractional_rows)]
    mine = mine[np.argsort(model.a_row[mine], kind="stable")]
    starts = np.searchsorted(model.a_row[mine], fractional_rows)
    ends = np.searchsorted(model.a_row[mine], fractional_rows, side="right")
    cuts = []
    for row, lo, hi in zip(fractional_rows, starts, ends, strict=True):
        cut = _cover(model.a_col[mine[lo:hi]], model.a_val[mine[lo:hi]], x,
                     float(model.row_upper[row]))
        if cut is not None:
            cuts.append(cut)
    return cuts


def _cover(variables: np.ndarray, weights: np.ndarray, x: np.ndarray,
           capacity: float) -> tuple[np.ndarray, float] | None:
    values = x[variables]
    order = np.lexsort((variables, -weights, -values))
    filled = np.cumsum(weights[order])
    over = np.flatnonzero(filled > capacity + 1e-9)
    if not len(over):
        return None
    size = int(over[0]) + 1
    cover = order[:size]
    if values[cover].sum() <= size - 1 + VIOLATION:
        return None
    largest = weights[cover].max()
    extended = np.union1d(variables[cover], variables[weights >= largest])
    return extended.astype(np.int64), float(size - 1)
