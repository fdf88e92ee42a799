"""A MIP solver's word is checked, not taken.

HiGHS 1.16, warm-started on the regional benchmark instance (seed 1) with wider pricing
rounds, reported "optimal" while returning the warm start, 13p above the true optimum.
``allocator.exact`` now runs the MIP cold, and takes HiGHS's dual bound as a proof only
when the objective HiGHS reports is the objective of the solution it returns.
"""

from __future__ import annotations

import datetime
import time
from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from oracle import brute_force
from test_properties import PROPERTY_SETTINGS, Spec, assert_optimal_and_feasible, markets

import allocator.exact as exact
import allocator.lp as lp_module
import allocator.solve as solve_module
from allocator.lp import RestrictedLP
from allocator.problem import build_problem
from allocator.solve import SolveSettings, cheapest_bound, greedy_solution, solve
from allocator.validate import load_inputs
from scenarios.demo_data import generate

AS_OF = datetime.date(2026, 11, 25)


def _inputs(children: int, units: int, seed: int):
    market = generate(children, units, seed, AS_OF)
    return load_inputs(market.referrals, market.units, conflicts=market.conflicts,
                       as_of=AS_OF)


class _LyingSolver:
    """A HiGHS stand-in whose report can disagree with the solution it returns."""

    def __init__(self, reported: float, dual_bound: float, values: list[float]):
        self.reported, self.dual_bound, self.values = reported, dual_bound, values

    def setOptionValue(self, *args) -> None:  # noqa: N802 - highspy's names
        pass

    def passModel(self, model) -> None:  # noqa: N802 - highspy's names
        pass

    def run(self) -> None:
        pass

    def getSolution(self):  # noqa: N802 - highspy's names
        return SimpleNamespace(value_valid=True, col_value=self.values)

    def getInfo(self):  # noqa: N802 - highspy's names
        return SimpleNamespace(objective_function_value=self.reported,
                               mip_dual_bound=self.dual_bound)


def _tiny_lp() -> RestrictedLP:
    """A one-child market, every column active: the smallest model a MIP can run on."""
    market = generate(1, 2, 5, AS_OF)
    problem = build_problem(load_inputs(market.referrals, market.units, as_of=AS_OF))
    lp = RestrictedLP(problem.model, seed=0)
    lp.add(np.arange(problem.model.n_vars))
    return lp


@pytest.mark.parametrize("below, proves", [
    (0, True),  # consistent: the dual bound is the proof
    (500, False),  # reports 500p better than its own solution: no proof at all
])
def test_a_mip_report_is_checked_against_its_solution(below: int, proves: bool,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """The lying solver claims a dual bound equal to its solution's value (a proof, if
    believed) but reports an objective ``below`` pence under it: then it proves nothing."""
    lp = _tiny_lp()
    model = lp.model
    chosen = int(np.flatnonzero(model.col_option == model.unplaced_option)[0])
    values = [1.0 if v == chosen else 0.0 for v in lp.active]
    value = int(model.col_cost[chosen])
    fake = _LyingSolver(value - below, value, values)
    monkeypatch.setattr(solve_module, "new_highs", lambda: fake)
    found = exact._run_mip(lp, 1e18)
    assert found is not None and list(found[0]) == [chosen]
    assert found[2] == (value if proves else exact.NO_BOUND)


@pytest.mark.parametrize("add_per_entity, restrict_above", [(6, 20_000), (20, 20_000), (6, 0)])
def test_proven_optima_agree_whatever_the_pricing(add_per_entity: int, restrict_above: int,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """The instance where HiGHS slipped: both pricing settings, and the MIP tried first on
    a quarter of the reduced-cost margin, must prove the same optimum."""
    problem = build_problem(_inputs(1000, 2000, 1))
    monkeypatch.setattr(lp_module, "ADD_PER_ENTITY", add_per_entity)
    monkeypatch.setattr(exact, "RESTRICT_ABOVE", restrict_above)
    baseline = greedy_solution(problem.model, problem.children)
    result = solve(problem.model, problem.children, SolveSettings(time_limit_s=120, seed=1),
                   baseline)
    assert result.status == "optimal"
    assert result.objective == result.bound == 291_572_732


def test_a_weak_incumbent_is_proven_on_a_narrow_margin_first() -> None:
    """Regional seed 3: the incumbent before the MIP is £387 above the Lagrangian bound, the
    optimum £6.36. A quarter of that margin left 84,000 columns and HiGHS took 48 s; the
    MIP over ten columns an entity, then the wider margin, proves it on far fewer."""
    problem = build_problem(_inputs(1000, 2000, 3))
    baseline = greedy_solution(problem.model, problem.children)
    result = solve(problem.model, problem.children, SolveSettings(time_limit_s=120, seed=1),
                   baseline)
    assert result.status == "optimal"
    assert result.objective == result.bound == 239_686_921
    assert result.stages["mip_columns"] < 15_000


@settings(PROPERTY_SETTINGS, max_examples=30)
@given(markets(crowded=True), st.sampled_from([exact.NARROW_COLUMNS, (1, 1)]))
def test_the_restricted_mip_first_still_finds_the_optimum(spec: Spec,
                                                          narrow: tuple[int, int]) -> None:
    """With the narrow-margin MIP tried on every model (it normally waits for 20,000
    surviving columns), down to a margin keeping one column, so that the margin must grow
    again and again, allocations are still feasible and brute-force optimal."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(exact, "RESTRICT_ABOVE", 0)
        patch.setattr(exact, "NARROW_COLUMNS", narrow)
        assert_optimal_and_feasible(spec)


@settings(PROPERTY_SETTINGS, max_examples=40)
@given(markets())
def test_the_cheapest_option_floor_never_exceeds_the_optimum(spec: Spec) -> None:
    """The solver-free bound a time-limited run falls back on is a true lower bound."""
    result = spec.allocate(explain=False)
    problem = build_problem(result.inputs)
    assert cheapest_bound(problem.model) <= brute_force(result.inputs).objective_pence


def test_a_run_stopped_at_once_still_reports_a_sensible_bound() -> None:
    """Stopped before its LP settles, the regional batch keeps a feasible allocation and a
    bound no weaker than every child in its cheapest option (not a half-solved LP's)."""
    problem = build_problem(_inputs(1000, 2000, 1))
    baseline = greedy_solution(problem.model, problem.children)
    result = solve(problem.model, problem.children, SolveSettings(time_limit_s=1e-3, seed=1),
                   baseline)
    floor = cheapest_bound(problem.model)
    assert 0 < floor <= result.bound <= result.objective <= baseline.objective


def test_pricing_settles_however_few_rounds_of_cuts_are_allowed(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Found in a stress test: pricing stopped at 60 rounds on a market of identical
    children, and the Lagrangian of its unsettled duals was -£7.4 billion. The round cap
    now bounds the cuts only; pricing runs until no column prices out."""
    monkeypatch.setattr(lp_module, "FIRST_COLUMNS", 1)
    monkeypatch.setattr(lp_module, "ADD_PER_ENTITY", 1)
    problem = build_problem(_inputs(60, 150, 3))
    lp = RestrictedLP(problem.model, seed=0)
    assert lp.optimise(10**9, max_rounds=1)
    assert lp.pricing_rounds > 1
    base, cuts = lp.duals()
    reduced = lp.reduced_costs(base, cuts)
    assert not ((lp.position < 0) & (reduced < lp_module.PRICE_TOLERANCE)).any()
    bound, _, _ = lp.lagrangian()
    assert bound >= cheapest_bound(problem.model) - 1e-6


def test_each_lp_re_solve_gets_the_time_left_on_highs_own_clock(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """HiGHS counts time_limit against its run clock, which adds up over the runs of one
    instance: a limit of 'the time left' stopped the re-solves of a long LP at about half
    the run's limit (stress test). The limit set is that clock plus the time left."""
    lp = _tiny_lp()
    limits: list[float] = []

    class Clocked:
        """The real solver, its clock reading 100 s as after long earlier runs."""

        def __init__(self, real):
            self.real = real

        def __getattr__(self, name):
            return getattr(self.real, name)

        def getRunTime(self) -> float:  # noqa: N802 - highspy's names
            return 100.0

        def setOptionValue(self, name, value):  # noqa: N802 - highspy's names
            if name == "time_limit":
                limits.append(value)
            return self.real.setOptionValue(name, value if name != "time_limit" else 60.0)

    monkeypatch.setattr(lp, "solver", Clocked(lp.solver))
    lp.run(time.perf_counter() + 5.0)
    assert limits and 104.0 < limits[-1] <= 105.0
