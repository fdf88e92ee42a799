"""The far-pair shortcut in eligibility changes nothing but the time it takes.

``_drop_surely_far`` clears pairs beyond a child's distance cap by the cosine of their angle
before any exact distance is computed. These tests compare it, pair by pair and count by
count, with the exact test alone, on caps chosen to sit on its edges: none, zero, a few
yards, ordinary caps, and caps past the antipode; with units placed exactly at, and a hair
beyond, a child's home and cap.
"""

from __future__ import annotations

import datetime

import numpy as np
import pandas as pd
import pytest

import allocator.eligibility as eligibility_module
from allocator.arrays import EARTH_RADIUS_MILES, children_arrays, units_arrays
from allocator.eligibility import Eligibility, eligibility
from allocator.validate import load_inputs
from scenarios.demo_data import generate

AS_OF = datetime.date(2026, 11, 25)
CAPS = ["", "0", "0.001", "0.5", "3", "20", "60", "400", "12451", "20000"]
#: Units (by row) placed due north of child 20, at its 5-mile cap plus these miles.
EDGE = {10: -0.011, 11: -0.001, 12: -0.0001, 13: 0.0001, 14: 0.001, 15: 0.011}


def _market(seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    market = generate(200, 900, seed, AS_OF)
    referrals = market.referrals.copy().astype(object)
    units = market.units.copy().astype(object)
    rng = np.random.default_rng(seed)
    referrals["max_distance_miles"] = rng.choice(CAPS, len(referrals))
    referrals["min_distance_miles"] = ""
    # Units exactly at some children's homes (distance 0), and one due north of a child at
    # its cap plus or minus a hundredth of a mile, where the shortcut's margin is tested.
    for k in range(10):
        units.loc[k, "lat"] = referrals.loc[k, "home_lat"]
        units.loc[k, "lon"] = referrals.loc[k, "home_lon"]
    # Those units are copies of a unit child 20 may otherwise use, so only distance decides.
    referrals.loc[20, "max_distance_miles"] = ""
    usable = _eligibility(referrals, units)
    twin = int(usable.unit[usable.child == 20][0])
    referrals.loc[20, "max_distance_miles"] = "5"
    for k, extra in EDGE.items():
        ids = units.loc[k, "unit_id"]
        units.loc[k] = units.loc[twin]
        units.loc[k, "unit_id"] = ids
        lat = float(referrals.loc[20, "home_lat"]) + np.degrees((5 + extra) / EARTH_RADIUS_MILES)
        units.loc[k, "lat"] = f"{lat:.12f}"
        units.loc[k, "lon"] = referrals.loc[20, "home_lon"]
    return referrals, units


def _eligibility(referrals: pd.DataFrame, units: pd.DataFrame) -> Eligibility:
    inputs = load_inputs(referrals, units, as_of=AS_OF)
    return eligibility(children_arrays(inputs), units_arrays(inputs), inputs.policy)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_shortcut_gives_exactly_the_exact_tests_result(
        seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    referrals, units = _market(seed)
    monkeypatch.setattr(eligibility_module, "PAIRS_PER_CHUNK", 20_000)  # several blocks
    fast = _eligibility(referrals, units)
    monkeypatch.setattr(eligibility_module, "_drop_surely_far", lambda *args: None)
    exact = _eligibility(referrals, units)
    assert fast.pairs == exact.pairs > 0
    np.testing.assert_array_equal(fast.child, exact.child)
    np.testing.assert_array_equal(fast.unit, exact.unit)
    np.testing.assert_array_equal(fast.miles, exact.miles)
    np.testing.assert_array_equal(fast.excluded, exact.excluded)
    cap_rule = eligibility_module.RULE["distance_cap"]
    assert exact.excluded[:, cap_rule].sum() > 0  # the cap did bind somewhere
    # The units at the edge of child 20's cap reached the distance test: inside it, kept.
    near = set(fast.unit[fast.child == 20].tolist())
    assert {k for k in EDGE if EDGE[k] < 0} <= near
    assert not {k for k in EDGE if EDGE[k] > 0} & near


def test_the_shortcut_runs_and_binds(monkeypatch: pytest.MonkeyPatch) -> None:
    """Guards the guard: the comparison above means nothing if the shortcut never fires."""
    referrals, units = _market(1)
    dropped: list[int] = []
    real = eligibility_module._drop_surely_far

    def counting(ch, un, block, alive, excluded) -> None:  # type: ignore[no-untyped-def]
        before = int(alive.sum())
        real(ch, un, block, alive, excluded)
        dropped.append(before - int(alive.sum()))

    monkeypatch.setattr(eligibility_module, "_drop_surely_far", counting)
    _eligibility(referrals, units)
    assert sum(dropped) > 0
