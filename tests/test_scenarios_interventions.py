"""Each intervention does what its file says, from the week it names."""

from __future__ import annotations

import numpy as np
import pytest
from scenario_support import GROWTH, small

from scenarios.demand import draw_arrivals, kept
from scenarios.market import compile_market
from scenarios.montecarlo import compare


def test_more_demand_keeps_the_same_children_and_adds_some() -> None:
    base = compile_market(small())
    more = compile_market(small("more", interventions=[
        {"type": "change_demand", "week": 0, "factor": 1.5}]))
    weeks = np.arange(base.weeks)
    for replication in range(3):
        arrivals = draw_arrivals(base.demand, base.weeks, 11, replication)
        again = draw_arrivals(more.demand, more.weeks, 11, replication)
        np.testing.assert_array_equal(arrivals.child, again.child)  # one stream for both
        a = kept(arrivals, base.demand, np.searchsorted(base.epoch_start, weeks, "right") - 1)
        b = kept(again, more.demand, np.searchsorted(more.epoch_start, weeks, "right") - 1)
        assert (b | ~a).all() and b.sum() > a.sum()


def test_added_units_open_in_their_week() -> None:
    later = [dict(GROWTH[0], week=2)]
    market = compile_market(small(interventions=later))
    added = np.arange(market.units.m) >= market.base_units
    assert added.sum() == 2 and market.places[added].tolist() == [2, 2]
    assert not market.active[market.epoch_of(market.warmup + 1)][added].any()
    assert market.active[market.epoch_of(market.warmup + 2)][added].all()


def test_removing_the_councils_carers_moves_their_children() -> None:
    removal = small("removal", interventions=[
        {"type": "remove_provider", "week": 2, "provider": "P0001"}])
    comparison = compare(small(), removal, workers=1)
    week = 2
    moved = comparison.b.weekly[:, week, 6] - comparison.a.weekly[:, week, 6]  # new placements
    assert (moved > 0).all()
    assert comparison.differences().loc["total_spend", "difference"] > 0


def test_suspension_leaves_children_where_they_are() -> None:
    market = compile_market(small(interventions=[
        {"type": "suspend_provider", "week": 2, "provider": "P0001"}]))
    e = market.epoch_of(market.warmup + 2)
    assert not market.removed.any() and not market.active[e][market.units.provider == "P0001"].any()


def test_closing_a_fallback_sends_children_elsewhere() -> None:
    closed = small("closed", interventions=[
        {"type": "change_fallback", "week": 0, "route": "regional", "setting": "foster",
         "capacity": 0}])
    comparison = compare(small(), closed, workers=1)
    market = compile_market(closed)
    assert (market.fb_capacity[market.epoch_of(market.warmup)] == [-1, 0]).all()
    table = comparison.differences()
    assert table.loc["fallback_placements", "difference"] < 0
    assert table.loc["total_cost", "difference"] >= 0


@pytest.mark.parametrize("factor", [1.08, 0.9])
def test_price_changes_move_spend_with_their_sign(factor: float) -> None:
    changed = small("priced", interventions=[
        {"type": "change_prices", "week": 0, "setting": "residential", "factor": factor}])
    difference = compare(small(), changed, workers=1).differences().loc["total_spend",
                                                                        "difference"]
    assert np.sign(difference) == np.sign(factor - 1)


def test_need_weights_shift_the_need_profile_of_arrivals() -> None:
    from allocator.arrays import NEED_BIT

    plain = compile_market(small())
    leaning = compile_market(small(demand={"looked_after": 500, "need_weights": {"SEMH": 4},
                                           "pool": {"children": 1000, "seed": 5}}))

    def semh_share(market) -> float:
        arrivals = draw_arrivals(market.demand, market.weeks, 11, 0)
        return float((market.pool.needs[arrivals.child] & NEED_BIT["SEMH"] > 0).mean())

    assert semh_share(leaning) > semh_share(plain) + 0.1
