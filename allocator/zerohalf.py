"""{0, 1/2}-Chvátal-Gomory cuts: the odd cycles that cover cuts cannot see.

Some LP optima of this model are half-integral around a *cycle*: a sibling group half in
each of two small units, beside single children each half in two units, every row tight.
No single capacity row is violated by its own covers (the point is in each row's knapsack
hull); the fault lies in the cycle. Adding up a set ``R`` of tight rows, each in ``<=`` form
with integer data, and halving gives ``sum(c_j / 2 x_j) <= rhs / 2``; rounding every
coefficient and the right-hand side down keeps it valid for 0-1 points (all our variables
are 0-1, so ``x >= 0``), and when ``rhs`` is odd and every fractional variable has an even
total coefficient the rounded cut is violated by exactly one half. Variables at 1 with an
odd coefficient are paired with their bound ``x_j <= 1`` (tight, so free).

Finding ``R`` is linear algebra over GF(2): the row multipliers ``l`` must give every
fractional variable an even coefficient (``M l = 0``) and the right-hand side an odd one
(``b . l = 1``), where ``b`` is each row's right-hand side less the variables at 1, mod 2.
Each basis vector of ``M``'s null space with ``b . l = 1`` is a cut; components of the
row-variable graph are solved apart, which keeps the systems (and the cuts) small.

The cut is computed over *every* variable of the model, active in the LP or not, in exact
integer arithmetic, so it stays valid as column generation brings columns in. Only rows whose
entries are all non-negative in ``<=`` form are used, so every cut coefficient is too. A
national market's bound (``allocator/universe.py``) leaves cut duals out of the reduced
costs of pairs outside the model; that is safe because such a pair (a single child at a
unit) has a non-negative entry in every row a cut can use (its assignment, vacancy,
admission, staff and conflict rows), so its coefficient in the cut extended to the whole
market is non-negative too, and leaving out a non-negative coefficient times a
non-positive dual can only lower a reduced cost.
(Caprara and Fischetti, "{0, 1/2}-Chvátal-Gomory cuts", Math. Programming 74, 1996.)
"""

from __future__ import annotations

import numpy as np

from allocator.sorting import ranges

FRACTIONAL = 1e-7
TIGHT = 1e-7
VIOLATION = 1e-4
#: Most cuts returned by one call, and the largest component solved (rows).
MAX_CUTS = 200
MAX_COMPONENT_ROWS = 400

Cut = tuple[np.ndarray, np.ndarray, float]  # variables, integer coefficients, upper bound


def separate_zero_half(a_row: np.ndarray, a_col: np.ndarray, a_val: np.ndarray,
                       lower: np.ndarray, upper: np.ndarray, x: np.ndarray) -> list[Cut]:
    """Violated {0, 1/2}-cuts at ``x`` for rows ``lower <= A x <= upper`` (COO ``A``).

    Only rows whose coefficients and tight bound are whole numbers, and whose entries are
    all of one sign in ``<=`` form, are combined: a row of mixed signs could only give
    negative coefficients, and left in the parity system it would take part in basis
    vectors that are then thrown away, hiding cuts that exist without it.
    """
    n_rows = len(upper)
    if not n_rows:
        return []
    activity = np.bincount(a_row, weights=a_val * x[a_col], minlength=n_rows)
    integral_row = np.ones(n_rows, dtype=bool)
    integral_row[a_row[a_val != np.round(a_val)]] = False
    has_negative = np.zeros(n_rows, dtype=bool)
    has_negative[a_row[a_val < 0]] = True
    has_positive = np.zeros(n_rows, dtype=bool)
    has_positive[a_row[a_val > 0]] = True
    at_upper = np.isfinite(upper) & (np.abs(activity - upper) < TIGHT) \
        & (upper == np.round(upper)) & ~has_negative
    at_lower = ~at_upper & np.isfinite(lower) & (np.abs(activity - lower) < TIGHT) \
        & (lower == np.round(lower)) & ~has_positive
    sign = np.where(at_upper, 1, np.where(at_lower, -1, 0)) * integral_row
    rhs = np.where(sign > 0, upper, np.where(sign < 0, -lower, 0.0))
    fractional = (x > FRACTIONAL) & (x < 1 - FRACTIONAL)
    # Entries of tight rows on fractional variables: the parity system.
    entry = (sign[a_row] != 0) & fractional[a_col]
    rows = np.unique(a_row[entry])
    if not len(rows):
        return []
    # rhs less the variables at 1, mod 2 (exact: all integers).
    at_one = (x[a_col] >= 1 - FRACTIONAL) & (sign[a_row] != 0)
    ones_sum = np.bincount(a_row[at_one], weights=a_val[at_one], minlength=n_rows)
    target = (np.round(rhs - sign * ones_sum).astype(np.int64) % 2).astype(np.uint8)
    odd = entry & (np.round(a_val).astype(np.int64) % 2 == 1)
    odd_row, odd_col = a_row[odd], a_col[odd]
    by_row = np.argsort(a_row, kind="stable")
    row_ptr = np.searchsorted(a_row[by_row], np.arange(n_rows + 1))
    cuts: list[Cut] = []
    for component_rows, component_cols in _components(a_row[entry], a_col[entry], rows):
        if len(component_rows) > MAX_COMPONENT_ROWS:
            continue
        mine = np.isin(odd_row, component_rows)
        parity = np.zeros((len(component_cols), len(component_rows)), dtype=np.uint8)
        np.add.at(parity, (np.searchsorted(component_cols, odd_col[mine]),
                           np.searchsorted(component_rows, odd_row[mine])), 1)
        parity %= 2
        for multipliers in _odd_null_vectors(parity, target[component_rows]):
            chosen = component_rows[multipliers.astype(bool)]
            counts = row_ptr[chosen + 1] - row_ptr[chosen]
            entries = by_row[ranges(row_ptr[chosen], counts)]
            cut = _cut(chosen, a_row[entries], a_col[entries], a_val[entries], sign, rhs, x)
            if cut is not None:
                cuts.append(cut)
            if len(cuts) >= MAX_CUTS:
                return cuts
    return cuts


def _components(rows: np.ndarray, cols: np.ndarray,
                all_rows: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """Connected components of the bipartite graph of tight rows and fractional variables."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    col_ids, col_of = np.unique(cols, return_inverse=True)
    row_of = np.searchsorted(all_rows, rows)
    n_r, n_c = len(all_rows), len(col_ids)
    graph = coo_matrix((np.ones(len(rows)), (row_of, n_r + col_of)),
                       shape=(n_r + n_c, n_r + n_c))
    count, label = connected_components(graph, directed=False)
    out = []
    for k in range(count):
        members = np.flatnonzero(label == k)
        r = members[members < n_r]
        c = members[members >= n_r] - n_r
        if len(r) and len(c):
            out.append((all_rows[r], col_ids[c]))
    return out


def _odd_null_vectors(parity: np.ndarray, target: np.ndarray) -> list[np.ndarray]:
    """Basis vectors ``l`` of the null space of ``parity`` (over GF(2)) with odd ``target . l``.

    Gaussian elimination to reduced row echelon form; each free unknown gives one basis
    vector (itself set, the pivots it forces).
    """
    matrix = parity.copy()
    n_eq, n_var = matrix.shape
    pivots: list[int] = []
    row = 0
    for var in range(n_var):
        if row >= n_eq:
            break
        candidates = np.flatnonzero(matrix[row:, var]) + row
        if not len(candidates):
            continue
        pick = candidates[0]
        if pick != row:
            matrix[[row, pick]] = matrix[[pick, row]]
        others = np.flatnonzero(matrix[:, var])
        others = others[others != row]
        matrix[others] ^= matrix[row]
        pivots.append(var)
        row += 1
    pivot_set = set(pivots)
    found = []
    for free in range(n_var):
        if free in pivot_set:
            continue
        vector = np.zeros(n_var, dtype=np.uint8)
        vector[free] = 1
        for r, var in enumerate(pivots):
            vector[var] = matrix[r, free]
        if int(vector @ target) % 2 == 1:
            found.append(vector)
    return found


def _cut(rows: np.ndarray, a_row: np.ndarray, a_col: np.ndarray, a_val: np.ndarray,
         sign: np.ndarray, rhs: np.ndarray, x: np.ndarray) -> Cut | None:
    """Half the sum of ``rows`` (with tight bounds for odd variables at 1), rounded down.

    ``a_row``, ``a_col`` and ``a_val`` are the entries of ``rows``, and only those.
    """
    signed = (sign[a_row] * np.round(a_val)).astype(np.int64)  # >= 0: rows of one sign
    variables, position = np.unique(a_col, return_inverse=True)
    coefficient = np.zeros(len(variables), dtype=np.int64)
    np.add.at(coefficient, position, signed)
    total = int(np.round(rhs[rows]).astype(np.int64).sum())
    bound = (coefficient % 2 == 1) & (x[variables] >= 1 - FRACTIONAL)
    coefficient[bound] += 1
    total += int(bound.sum())
    if total % 2 == 0:  # pragma: no cover - the parity system rules this out
        return None
    halved = np.floor_divide(coefficient, 2)
    keep = halved != 0
    variables, halved = variables[keep], halved[keep]
    upper = total // 2
    if float(halved @ x[variables]) <= upper + VIOLATION:
        return None
    return variables.astype(np.int64), halved, float(upper)
