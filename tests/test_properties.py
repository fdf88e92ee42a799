"""Property tests: on random small markets, the allocation is feasible and provably optimal.

Hypothesis builds markets of 2-6 children and 1-5 units that exercise every rule at once
(settings, needs, ages, sexes, vacancies 0-2, ``capacity_use`` through offers, staff
capacity, ``max_new_admissions``, sibling groups kept and not, conflicts, fallbacks with small
capacities, emergencies, availability and distance caps), as ``@composite`` strategies in the
style of daffidwilde/matching's test utilities. The judge is :mod:`allocator.check` and the
brute-force optimum of :mod:`oracle`, never the engine itself.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from oracle import AS_OF, HOME, brute_force, frame

from allocator.api import AllocationResult, allocate, allocate_inputs
from allocator.check import RULES, Market, check_allocation

# Every rule should bind now and then, but most children should have a unit or two to
# compete for. Hypothesis favours the ends of a ``sampled_from`` list, so the permissive
# choice is put at both ends, and repeats weight the rest.
SETTING_CHOICES = ["residential", "residential;foster", "residential", "foster",
                   "residential", "residential;supported", "residential", "supported",
                   "residential;foster", "foster;parent_child", "residential"]
UNIT_SETTINGS = ["residential", "foster", "residential", "residential", "supported",
                 "residential", "foster", "parent_child", "residential"]
CHILD_NEEDS = ["", "SEMH", "SEMH;CSE", "", "ASD", ""]
UNIT_NEEDS = ["SEMH;ASD;CSE", "SEMH", "", "SEMH;ASD;CSE", "SEMH;CSE", "SEMH;ASD;CSE"]
AUTHORITIES = ["Sefton", "Liverpool", "Knowsley", "Sefton", "Wirral", "Cheshire East",
               "Sefton"]
RATINGS = ["good", "outstanding", "requires_improvement", "good", "not_yet_inspected",
           "inadequate", "good"]
ROUTES = ["pdps", "in_house", "lcr", "pdps", "regional", "spot", "pdps"]
OFFER_COLUMNS = ["child_id", "unit_id", "weekly_price", "quality_score", "capacity_use"]
PENCE = [0, 0, 0.5, 0.25, 0.125, 0.99]
PROPERTY_SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[
    HealthCheck.too_slow, HealthCheck.data_too_large])


@dataclass(frozen=True)
class Spec:
    """A random market as rows of text cells, and the policy keys it overrides."""

    children: list[dict[str, str]]
    units: list[dict[str, str]]
    offers: list[dict[str, str]] | None
    conflicts: list[dict[str, str]] | None
    policy: dict[str, Any]

    def allocate(self, **options: Any) -> AllocationResult:
        return allocate(frame(self.children), frame(self.units),
                        offers=None if self.offers is None else pd.DataFrame(
                            self.offers, columns=OFFER_COLUMNS, dtype=object),
                        conflicts=None if self.conflicts is None else frame(self.conflicts),
                        policy=self.policy, as_of=AS_OF, **options)


def _day(offset: int) -> str:
    return (AS_OF + timedelta(days=offset)).isoformat()


def _place(draw: st.DrawFn) -> tuple[str, str]:
    """A location within about 20 miles of home, to a thousandth of a degree."""
    dlat = draw(st.integers(-300, 300)) / 1000
    dlon = draw(st.integers(-300, 300)) / 1000
    return repr(round(HOME[0] + dlat, 3)), repr(round(HOME[1] + dlon, 3))


def _choose(draw: st.DrawFn, plain: bool, choices: list[str]) -> str:
    """``choices[0]`` is the permissive value, always taken by a plain row."""
    return choices[0] if plain else draw(st.sampled_from(choices))


@st.composite
def referrals(draw: st.DrawFn, child_id: str) -> dict[str, str]:
    """One child: age 10-18, any care plan, sometimes enhanced, urgent, capped or grouped.

    About half the children are plain (no needs, standard staffing, planned, no caps), so
    most markets have children competing for units as well as children the rules exclude.
    """
    plain = draw(st.booleans())
    age = int(_choose(draw, plain, ["14", "13", "12", "16", "15", "17", "11", "18", "10"]))
    born = f"{AS_OF.year - age}-{draw(st.integers(1, 12)):02d}-{draw(st.integers(1, 28)):02d}"
    lat, lon = _place(draw)
    cap = _choose(draw, plain, ["", "25", "10", "5", ""])
    floor = _choose(draw, plain, ["", "0", "2", *([] if cap == "" else [cap]), ""])
    ks4 = draw(st.booleans())
    school = _place(draw) if ks4 or draw(st.booleans()) else ("", "")
    return {
        "child_id": child_id, "date_of_birth": born, "sex": draw(st.sampled_from("MF")),
        "settings": draw(st.sampled_from(SETTING_CHOICES)),
        "needs": _choose(draw, plain, CHILD_NEEDS),
        "staffing": _choose(draw, plain, ["standard", "1:1", "2:1", "3:1", "standard"]),
        "therapy_need": str(draw(st.booleans())).lower(), "home_lat": lat, "home_lon": lon,
        "school_lat": school[0], "school_lon": school[1], "key_stage_4": str(ks4).lower(),
        "urgency": _choose(draw, plain, ["planned", "", "emergency", "planned"]),
        "sibling_group": draw(st.sampled_from(["", "S1", "", "S2", ""])),
        "keep_together": draw(st.sampled_from(["", "true", "false"])),
        "max_distance_miles": cap, "min_distance_miles": floor,
        "avoid_authorities": _choose(draw, plain, ["", "Liverpool", "Wirral", ""]),
        "expected_weeks": draw(st.sampled_from(["", "4", "26", "60"])),
    }


@st.composite
def units(draw: st.DrawFn, unit_id: str) -> dict[str, str]:
    """One unit: any setting, route, place and grade; 0-2 vacancies; some limits.

    About half the units are plain: open to every age, sex and need, available now.
    """
    plain = draw(st.booleans())
    lat, lon = _place(draw)
    ages = _choose(draw, plain, ["0-17", "11-17", "13-17", "16-25", "8-14", "0-17"])
    addon = draw(st.sampled_from(["", "900", "2500", ""]))
    return {
        "unit_id": unit_id, "provider_id": f"P{unit_id}", "provider_name": f"Provider {unit_id}",
        "setting": draw(st.sampled_from(UNIT_SETTINGS)), "route": draw(st.sampled_from(ROUTES)),
        "admitted_date": _choose(draw, plain, ["", _day(-100), _day(0), _day(1), ""]),
        "local_authority": draw(st.sampled_from(AUTHORITIES)), "lat": lat, "lon": lon,
        "ofsted_rating": _choose(draw, plain, RATINGS), "age_min": ages.split("-")[0],
        "age_max": ages.split("-")[1], "sexes": _choose(draw, plain, ["any", "M", "F", "any"]),
        "needs_supported": _choose(draw, plain, UNIT_NEEDS),
        "vacancies": draw(st.sampled_from(["1", "2", "0", "1"])),
        "staff_capacity": draw(st.sampled_from(["1", "0", "3", "2", "1"])),
        "accepts_emergency": _choose(draw, plain, ["true", "false", "true"]),
        "available_from": _choose(draw, plain, ["", _day(-10), _day(0), _day(1), _day(28),
                                                _day(29), ""]),
        "weekly_price": str(draw(st.integers(300, 6000)) + draw(st.sampled_from(PENCE))),
        "price_1to1": addon, "price_2to1": addon, "price_3to1": addon,
        "therapeutic": draw(st.sampled_from(["false", "true"])),
        "max_new_admissions": _choose(draw, plain, ["", "1", "2", "0", ""]),
    }


@st.composite
def policies(draw: st.DrawFn) -> dict[str, Any]:
    """Fallbacks with small capacities; some weights and rules moved off their defaults."""
    fallbacks = [{"route": "lcr", "setting": "residential", "weekly_price": 5200,
                  "distance_miles": 30, "capacity": draw(st.sampled_from([None, 0, 1, 2]))},
                 {"route": "regional", "setting": "foster", "weekly_price": 980,
                  "distance_miles": 35, "capacity": draw(st.sampled_from([None, 1]))}]
    if draw(st.booleans()):
        fallbacks.append({"route": "spot", "setting": "supported", "weekly_price": 1400.5,
                          "distance_miles": 12.5, "capacity": draw(st.sampled_from([None, 1]))})
    return {
        "fallbacks": fallbacks,
        "weights": {"sibling_split": draw(st.sampled_from([0, 500, 2000])),
                    "offer_quality_point": draw(st.sampled_from([0, 3])),
                    "unplaced": draw(st.sampled_from([8000, 100000]))},
        "rules": {"max_distance_miles": draw(st.sampled_from([None, None, 25])),
                  "requires_improvement": draw(st.sampled_from(["allow", "exclude"])),
                  "inadequate": draw(st.sampled_from(["exclude", "allow"])),
                  "planned_window_days": draw(st.sampled_from([28, 0]))},
    }


@st.composite
def markets(draw: st.DrawFn, crowded: bool = False) -> Spec:
    """A market of 2-6 children and 1-5 units; ``crowded``: every child and unit residential,
    so everyone competes for the same places (where the LP relaxation turns fractional)."""
    n = draw(st.integers(2, 6))
    m = draw(st.integers(1, 5))
    children = [draw(referrals(f"C{i}")) for i in range(1, n + 1)]
    unit_rows = [draw(units(f"U{j}")) for j in range(1, m + 1)]
    if crowded:
        for row in children:
            row["settings"] = "residential"
        for row in unit_rows:
            row["setting"] = "residential"
    offers = None
    if draw(st.sampled_from([False, False, True, False])):
        offers = [{"child_id": c["child_id"], "unit_id": u["unit_id"],
                   "weekly_price": str(draw(st.integers(300, 7000))),
                   "quality_score": draw(st.sampled_from(["", "60", "95.5", "100"])),
                   "capacity_use": draw(st.sampled_from(["", "1", "2"]))}
                  for c in children for u in unit_rows
                  if draw(st.sampled_from([True, False, True]))]
    pairs = [(a["child_id"], b["child_id"]) for k, a in enumerate(children)
             for b in children[k + 1:]]
    chosen = draw(st.lists(st.sampled_from(pairs), max_size=3, unique=True))
    conflicts = [{"child_a": a, "child_b": b, "reason": "risk"} for a, b in chosen] or None
    return Spec(children, unit_rows, offers, conflicts, draw(policies()))


@PROPERTY_SETTINGS
@given(markets())
def test_allocation_obeys_every_rule_and_is_optimal(spec: Spec) -> None:
    assert_optimal_and_feasible(spec)


@settings(PROPERTY_SETTINGS, max_examples=30)
@given(markets(crowded=True))
def test_crowded_allocation_obeys_every_rule_and_is_optimal(spec: Spec) -> None:
    assert_optimal_and_feasible(spec)


def assert_optimal_and_feasible(spec: Spec) -> None:
    """The checker finds no violation, the objective is the brute-force optimum (and the
    summary's), the run says so, and greedy is feasible but never better."""
    result = spec.allocate()
    report = check_allocation(result.allocation, result.inputs)
    assert report.ok, report.text()
    assert result.summary["status"] == "optimal"
    assert round(result.summary["objective"] * 100) == report.objective_pence
    assert report.objective_pence == brute_force(result.inputs).objective_pence
    greedy = allocate_inputs(result.inputs, method="greedy", explain=False)
    baseline = check_allocation(greedy.allocation, result.inputs)
    assert baseline.ok, baseline.text()
    assert baseline.objective_pence >= report.objective_pence


def _excluded_text(counts: Counter[str]) -> str:
    return "; ".join(f"{rule} {counts[rule]}" for rule in RULES if counts[rule])


@settings(PROPERTY_SETTINGS, max_examples=30)
@given(markets())
def test_explanations_name_the_rules_the_checker_finds(spec: Spec) -> None:
    """``excluded_by``, ``eligible_options`` and exclusions.csv agree with the checker."""
    result = spec.allocate(explain=False)
    market = Market.of(result.inputs)
    for row in result.allocation.to_dict("records"):
        cid = row["child_id"]
        reasons = Counter(market.rule(cid, u) for u in market.units)
        del reasons[None]
        assert row["excluded_by"] == _excluded_text(reasons), cid
        assert row["eligible_options"] == len(market.options(cid)) - 1, cid
    unplaced = result.exclusions
    if len(unplaced):
        ours = [market.rule(c, u) or "full" for c, u in zip(unplaced["child_id"],
                                                           unplaced["unit_id"], strict=True)]
        assert unplaced["rule"].tolist() == ours


def test_brute_force_pruning_loses_nothing() -> None:
    """The cost bound in the oracle only skips assignments that cannot be better."""
    children = [{"child_id": f"C{i}", "date_of_birth": "2012-05-05", "sex": "MF"[i % 2],
                 "settings": "residential;foster", "home_lat": str(HOME[0]),
                 "home_lon": str(HOME[1]), "sibling_group": "S" if i < 2 else "",
                 "keep_together": "false" if i < 2 else ""} for i in range(4)]
    unit_rows = [{"unit_id": f"U{j}", "provider_id": "P", "provider_name": "P",
                  "setting": ["residential", "foster"][j % 2], "route": "pdps",
                  "local_authority": "Sefton", "lat": repr(HOME[0] + 0.01 * j),
                  "lon": str(HOME[1]), "vacancies": "1", "weekly_price": str(900 * (j + 1))}
                 for j in range(3)]
    inputs = allocate(pd.DataFrame(children), pd.DataFrame(unit_rows), as_of=AS_OF).inputs
    pruned = brute_force(inputs)
    everything = brute_force(inputs, exhaustive=True)
    assert pruned.objective_pence == everything.objective_pence
    assert everything.feasible_count > pruned.feasible_count
