"""A simulated week is the engine's allocation: the same eligible pairs, the same optimum.

The simulator filters pool pairs precomputed by the engine by the rules that change week to
week, and settles easy weeks without building the engine's model. These tests rebuild each
week from scratch with the engine (``eligibility`` -> ``pair_pence`` -> ``build_model`` ->
``solve``) and check that both give the same pairs, costs and optimal objective.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from scenario_support import small

from allocator.costs import fallback_pence, pair_pence
from allocator.eligibility import eligibility
from scenarios.market import Market, compile_market
from scenarios.weekly import ASSIGNMENT, ENGINE, OWN_CHOICE, allocate_week, engine, take, week_pairs


@pytest.fixture(scope="module")
def market() -> Market:
    return compile_market(small(interventions=[
        {"type": "change_prices", "week": 2, "route": "lcr", "factor": 1.08},
        {"type": "suspend_provider", "week": 1, "provider": "P0003"}]))


def _week(market: Market, rng: np.random.Generator, size: int, staff_short: bool):
    """A random week: a queue, some places taken, maybe some staff taken."""
    t = int(rng.integers(0, market.weeks))
    e = market.epoch_of(t)
    who = rng.choice(market.pool.n, size=size)
    emergency = rng.random(size) < 0.3
    open_places = market.places - rng.integers(0, 3, market.units.m)
    open_places = np.maximum(open_places, 0)
    staff_open = market.units.staff_capacity.copy()
    if staff_short:  # one member of staff free at most, and children who need staff
        staff_open = np.minimum(staff_open, 1)
        enhanced = np.flatnonzero(market.pool.staff > 0)
        who[: size // 2] = rng.choice(enhanced, size=size // 2)
    return t, e, who, emergency, market.active[e], open_places, staff_open


def _objective(market: Market, e: int, week, choice: np.ndarray, chosen: np.ndarray) -> int:
    m = market.units.m
    F = market.fb_pence.shape[1]
    unit = choice < m
    total = int(market.pair_pence[e, chosen[unit]].sum())
    fb = (choice >= m) & (choice < m + F)
    total += int(market.fb_pence[e, choice[fb] - m].sum())
    return total + int((choice == m + F).sum()) * market.unplaced_pence


@pytest.mark.parametrize("case", range(12))
def test_week_pairs_are_the_engines_eligible_pairs(market: Market, case: int) -> None:
    rng = np.random.default_rng(case)
    t, e, who, emergency, active, open_places, staff_open = _week(market, rng, 25, True)
    week = week_pairs(market, t, e, who, emergency, active, open_places, staff_open)
    units = dataclasses.replace(
        market.units, vacancies=np.where(active, open_places, 0), staff_capacity=staff_open,
        available_day=market.units.available_day - 7 * t,
        admitted_day=market.units.admitted_day - 7 * t)
    children = take(market.pool, who, emergency)
    policy = market.policies[e]
    fresh = eligibility(children, units, policy)
    assert np.array_equal(fresh.child, week.child) and np.array_equal(fresh.unit, week.unit)
    priced = dataclasses.replace(units, price=units.price * market.price_factor[e],
                                 addon=units.addon * market.price_factor[e][:, None])
    pence = pair_pence(children, priced, policy, None, fresh.child.astype(np.int64),
                       fresh.unit.astype(np.int64), fresh.miles, np.full(fresh.pairs, -1))
    np.testing.assert_array_equal(pence, week.pence)
    np.testing.assert_array_equal(fallback_pence(policy), market.fb_pence[e])


@pytest.mark.parametrize("case", range(30))
def test_every_shortcut_reaches_the_engines_optimum(market: Market, case: int) -> None:
    rng = np.random.default_rng(100 + case)
    size = [3, 8, 40][case % 3]
    args = _week(market, rng, size, staff_short=case % 2 == 1)
    _t, e, who, _emergency, active, open_places, staff_open = args
    choice, chosen, method = allocate_week(market, *args)
    week = week_pairs(market, *args)
    ref_choice, ref_chosen = engine(market, e, week, active, open_places, staff_open)
    assert _objective(market, e, week, choice, chosen) == _objective(
        market, e, week, ref_choice, ref_chosen)
    # Feasible: places, staff and fallback capacity respected.
    m = market.units.m
    at = choice < m
    assert (np.bincount(choice[at], minlength=m) <= np.where(active, open_places, 0)).all()
    staff = market.pool.staff[who]
    assert (np.bincount(choice[at], weights=staff[at], minlength=m) <= staff_open).all()
    assert method in (OWN_CHOICE, ASSIGNMENT, ENGINE)


def test_the_three_ways_of_settling_a_week_all_occur(market: Market) -> None:
    seen = set()
    for case in range(40):
        rng = np.random.default_rng(1000 + case)
        args = _week(market, rng, [2, 40][case % 2], staff_short=case % 4 == 3)
        seen.add(allocate_week(market, *args)[2])
    assert seen == {OWN_CHOICE, ASSIGNMENT, ENGINE}


def test_suspended_provider_takes_no_child_and_prices_move_by_epoch(market: Market) -> None:
    suspended = market.units.provider == "P0003"
    assert suspended.any()
    e = market.epoch_of(market.warmup + 1)
    assert not market.active[e][suspended].any() and market.active[0][suspended].all()
    lcr = market.units.route == 2  # ROUTES: in_house, pdps, lcr, ...
    late = market.epoch_of(market.warmup + 2)
    assert np.allclose(market.price_factor[late][lcr], 1.08)
    assert np.allclose(market.price_factor[late][~lcr], 1.0)
    assert market.fb_paid[late][0] == pytest.approx(market.fb_paid[0][0] * 1.08)
