"""{0, 1/2}-cuts must hold for every 0-1 point of the rows they came from, and cut the point
they were separated at: a cut that removed a feasible allocation would make the solver
"prove" a wrong optimum."""

from __future__ import annotations

import datetime
import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from allocator.problem import build_problem
from allocator.solve import SolveSettings, greedy_solution, solve
from allocator.validate import load_inputs
from allocator.zerohalf import separate_zero_half
from scenarios.demo_data import generate

AS_OF = datetime.date(2026, 11, 25)


@st.composite
def systems(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A few integer rows over up to 9 binaries and a point in {0, 1/2, 1} making some tight."""
    n = draw(st.integers(2, 9))
    m = draw(st.integers(1, 7))
    matrix = np.array(draw(st.lists(st.lists(st.sampled_from([0, 0, 0, 1, 1, 2, 3, -1]),
                                             min_size=n, max_size=n),
                                    min_size=m, max_size=m)), dtype=float)
    x = np.array(draw(st.lists(st.sampled_from([0.0, 0.5, 0.5, 1.0]), min_size=n,
                               max_size=n)))
    activity = matrix @ x
    lower = np.full(m, -np.inf)
    upper = np.full(m, np.inf)
    for r in range(m):
        kind = draw(st.sampled_from(["upper", "lower", "equal", "loose"]))
        if kind in ("upper", "equal"):
            upper[r] = np.ceil(activity[r]) if draw(st.booleans()) else activity[r] + 1
        if kind in ("lower", "equal"):
            lower[r] = np.floor(activity[r])
        if kind == "equal" and activity[r] == np.round(activity[r]):
            upper[r] = lower[r] = activity[r]
    return matrix, lower, upper, x


@given(systems())
@settings(max_examples=400, deadline=None)
def test_every_cut_is_valid_and_violated(system) -> None:
    matrix, lower, upper, x = system
    rows, cols = np.nonzero(matrix)
    cuts = separate_zero_half(rows, cols, matrix[rows, cols], lower, upper, x)
    points = np.array(list(itertools.product([0, 1], repeat=matrix.shape[1])), dtype=float)
    activity = points @ matrix.T
    feasible = points[np.all((activity >= lower - 1e-9) & (activity <= upper + 1e-9), axis=1)]
    for variables, coefficients, bound in cuts:
        assert coefficients.dtype.kind == "i" and float(bound).is_integer()
        assert np.all(coefficients > 0)
        assert float(coefficients @ x[variables]) > bound + 1e-6  # it cuts x off
        if len(feasible):
            assert np.all(feasible[:, variables] @ coefficients <= bound + 1e-9)


def test_an_odd_cycle_of_conflicts_is_cut() -> None:
    """Three children who must not share a unit, each pair's row tight at one half each:
    the sum of the three rows, halved and rounded, is the cut x1 + x2 + x3 <= 1."""
    matrix = np.array([[1, 1, 0], [0, 1, 1], [1, 0, 1]], dtype=float)
    rows, cols = np.nonzero(matrix)
    cuts = separate_zero_half(rows, cols, matrix[rows, cols], np.full(3, -np.inf),
                              np.ones(3), np.full(3, 0.5))
    assert len(cuts) == 1
    variables, coefficients, bound = cuts[0]
    assert list(variables) == [0, 1, 2] and list(coefficients) == [1, 1, 1] and bound == 1


def test_a_row_of_mixed_signs_does_not_hide_a_cut() -> None:
    """Found in review: a tight row with a negative entry (like a split group's member row)
    took part in the parity system, and the basis vector holding the odd cycle used it, so
    the cut was thrown away; put last, the same row hid nothing."""
    matrix = np.array([[1, 1, 0, -1], [0, 1, 1, 0], [1, 1, 0, 0], [1, 0, 1, 0]], dtype=float)
    x = np.array([0.5, 0.5, 0.5, 0.0])
    for order in ([0, 1, 2, 3], [1, 2, 3, 0]):
        rows, cols = np.nonzero(matrix[order])
        cuts = separate_zero_half(rows, cols, matrix[order][rows, cols],
                                  np.full(4, -np.inf), np.ones(4), x)
        assert [(list(v), list(c), b) for v, c, b in cuts] == [([0, 1, 2], [1, 1, 1], 1.0)]


def test_repeated_variables_in_a_cut_add_up() -> None:
    """A cut handed to the LP with a variable twice counts both coefficients."""
    from allocator.lp import RestrictedLP

    problem = build_problem(load_inputs(*_small_market(), as_of=AS_OF))
    lp = RestrictedLP(problem.model, 0)
    lp.add_cut(np.array([0, 1, 0]), 2.0, np.array([1, 1, 1]))
    assert list(lp.cut_var[-1]) == [0, 1] and list(lp.cut_coef[-1]) == [2.0, 1.0]


def _small_market():
    market = generate(20, 40, 1, AS_OF)
    return market.referrals, market.units


def test_a_regional_lp_needs_no_mip_with_them() -> None:
    """Regional seed 6: covers alone left a £15.56 gap and a MIP over 18,000 columns; with
    {0, 1/2}-cuts the LP relaxation is integral at the optimum."""
    market = generate(1000, 2000, 6, AS_OF)
    inputs = load_inputs(market.referrals, market.units, conflicts=market.conflicts,
                         as_of=AS_OF)
    problem = build_problem(inputs)
    baseline = greedy_solution(problem.model, problem.children)
    result = solve(problem.model, problem.children, SolveSettings(time_limit_s=120, seed=1),
                   baseline)
    assert result.status == "optimal" and result.method == "lp"
    assert result.objective == result.bound == 340_341_041


def test_no_cut_weighs_a_column_negatively(monkeypatch: pytest.MonkeyPatch) -> None:
    """The market bound and the near-pair certificate (allocator/universe.py) price a pair
    left out without the cut duals: sound only while every cut weighs columns at zero or
    more (a future cut built from a split group's member rows, with their -1 on the split
    variable, would quietly break both). Raised in review; this holds it for covers and
    {0, 1/2}-cuts alike."""
    import time

    import allocator.lp as lp_module

    zero_half: list = []
    real = lp_module.separate_zero_half

    def recording(*args):
        found = real(*args)
        zero_half.extend(found)
        return found

    monkeypatch.setattr(lp_module, "separate_zero_half", recording)
    coefficients = []
    for seed in range(1, 7):
        market = generate(300, 600, seed, AS_OF)
        problem = build_problem(load_inputs(market.referrals, market.units,
                                            conflicts=market.conflicts, as_of=AS_OF))
        lp = lp_module.RestrictedLP(problem.model, seed)
        lp.optimise(time.perf_counter() + 60)
        coefficients += lp.cut_coef
    assert zero_half, "these markets need {0, 1/2}-cuts for the test to mean anything"
    assert len(coefficients) > len(zero_half)  # and covers
    assert (np.concatenate(coefficients) >= 0).all()
