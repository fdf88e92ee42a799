"""Every hard rule of the contract, on a market where it binds.

Each test builds a market where the cheapest option would break one rule, runs ``allocate``,
and asserts both that the rule held and that :func:`allocator.check.check_allocation` finds
nothing wrong; a twin test hands the checker an allocation that breaks the rule, so the
oracle is shown to fail when it should.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from click.testing import CliRunner
from oracle import AS_OF, brute_force, check_table, child, frame, north, options_of, unit

from allocator.api import AllocationResult, allocate
from allocator.check import Market, check_allocation, first_failing_rule
from allocator.cli import main
from allocator.issues import InputError

OFFER_COLUMNS = ["child_id", "unit_id", "weekly_price", "quality_score", "capacity_use"]


def run(children: list[dict], units: list[dict], *, offers: list[dict] | None = None,
        conflicts: list[dict] | None = None, policy: dict | None = None) -> AllocationResult:
    """Allocate, then insist the checker agrees with every row and with the objective."""
    result = allocate(frame(children), frame(units),
                      offers=None if offers is None else frame(offers),
                      conflicts=None if conflicts is None else frame(conflicts),
                      policy=policy, as_of=AS_OF)
    report = check_allocation(result.allocation, result.inputs)
    assert report.ok, report.text()
    assert report.objective_pence == round(result.summary["objective"] * 100)
    assert result.summary["status"] == "optimal"
    assert report.objective_pence == brute_force(result.inputs).objective_pence
    return result


def market(children: list[dict], units: list[dict], **given: Any) -> Market:
    from allocator.validate import load_inputs

    tables = {k: None if v is None else frame(v) for k, v in given.items()
              if k in ("offers", "conflicts")}
    return Market.of(load_inputs(frame(children), frame(units), policy=given.get("policy"),
                                 as_of=AS_OF, **tables))


def offer(child_id: str, unit_id: str, price: float, use: int | str = "",
          quality: float | str = "") -> dict[str, str]:
    return {"child_id": child_id, "unit_id": unit_id, "weekly_price": str(price),
            "quality_score": str(quality), "capacity_use": str(use)}


@dataclass
class Case:
    """One child C1; unit A is cheaper but breaks ``rule``, unit B is dearer and allowed."""

    rule: str
    child: dict[str, Any] = field(default_factory=dict)
    a: dict[str, Any] = field(default_factory=dict)
    b: dict[str, Any] = field(default_factory=dict)
    offers: list[dict] | None = None
    policy: dict | None = None

    def children(self) -> list[dict]:
        return [child("C1", **self.child)]

    def units(self) -> list[dict]:
        a = {"weekly_price": 3000} | self.a
        return [unit("A", **a), unit("B", **self.b)]


CASES: dict[str, Case] = {
    "no_offer": Case("no_offer", offers=[offer("C1", "B", 4000)]),
    "setting": Case("setting", a={"setting": "foster", "weekly_price": 900}),
    "under_16": Case("under_16", child={"date_of_birth": "2011-06-01",
                                        "settings": "residential;supported"},
                     a={"setting": "supported", "weekly_price": 1500}),
    "age": Case("age", a={"age_min": 13}),
    "age-max": Case("age", child={"date_of_birth": "2009-11-25"}, a={"age_max": 16}),
    "sex": Case("sex", a={"sexes": "F"}),
    "needs": Case("needs", child={"needs": "SEMH;CSE"}, a={"needs_supported": "SEMH"},
                  b={"needs_supported": "SEMH;CSE;ASD"}),
    "ofsted": Case("ofsted", a={"ofsted_rating": "inadequate"}),
    "ofsted-requires-improvement": Case(
        "ofsted", a={"ofsted_rating": "requires_improvement"},
        policy={"rules": {"requires_improvement": "exclude"}}),
    "admission": Case("admission", a={"admitted_date": "2026-11-26"},
                      b={"admitted_date": "2026-11-25"}),
    "emergency": Case("emergency", child={"urgency": "emergency"},
                      a={"accepts_emergency": "false"}, b={"accepts_emergency": "true"}),
    "availability": Case("availability", a={"available_from": "2026-12-24"},
                         b={"available_from": "2026-12-23"}),  # 28 days: the window's edge
    "availability-emergency": Case(
        "availability", child={"urgency": "emergency"},
        a={"accepts_emergency": "yes", "available_from": "2026-11-26"},
        b={"accepts_emergency": "yes", "available_from": "2026-11-25"}),
    "vacancies": Case("vacancies", a={"vacancies": 0}),
    "vacancies-capacity-use": Case("vacancies", a={"vacancies": 1},
                                   offers=[offer("C1", "A", 3000, use=2),
                                           offer("C1", "B", 4000, use=2)],
                                   b={"vacancies": 2}),
    "admissions_limit": Case("admissions_limit", a={"max_new_admissions": 0}),
    # Enhanced staffing add-ons are dear: cheap base prices keep B below the fallback.
    "staffing": Case("staffing", child={"staffing": "2:1"},
                     a={"staff_capacity": 1, "weekly_price": 500},
                     b={"staff_capacity": 2, "weekly_price": 1000}),
    "staffing-3to1": Case("staffing", child={"staffing": "3:1"},
                          a={"staff_capacity": 2, "weekly_price": 500, "price_3to1": 1500},
                          b={"staff_capacity": 3, "weekly_price": 1000, "price_3to1": 2000}),
    "staffing-with-offers": Case("staffing", child={"staffing": "1:1"},
                                 b={"staff_capacity": 1},
                                 offers=[offer("C1", "A", 3000), offer("C1", "B", 4000)]),
    # B exactly at the cap: caps are inclusive.
    "distance_cap": Case("distance_cap", child={"max_distance_miles": 10},
                         a={"lat": repr(north(10.5))},
                         b={"lat": repr(north(10.0))}),
    "distance_cap-policy": Case("distance_cap", policy={"rules": {"max_distance_miles": 10}},
                                a={"lat": repr(north(10.5))},
                                b={"lat": repr(north(10.0))}),
    "distance_cap-own-beats-policy": Case(
        "distance_cap", child={"max_distance_miles": 5},
        policy={"rules": {"max_distance_miles": 50}},
        a={"lat": repr(north(6))},
        b={"lat": repr(north(5))}),
    # B exactly at the floor: floors are inclusive too.
    "distance_floor": Case("distance_floor", child={"min_distance_miles": 5},
                           a={"lat": repr(north(4.9))},
                           b={"lat": repr(north(5.0))}),
    "avoided_authority": Case("avoided_authority", child={"avoid_authorities": "Liverpool"},
                              a={"local_authority": "Liverpool", "weekly_price": 2000}),
}


@pytest.mark.parametrize("name", list(CASES))
def test_rule_binds_and_is_obeyed(name: str) -> None:
    case = CASES[name]
    result = run(case.children(), case.units(), offers=case.offers, policy=case.policy)
    cheap = Market.of(result.inputs)
    assert cheap.cost("C1", "A") < cheap.cost("C1", "B"), "A must be the tempting option"
    row = result.allocation.iloc[0]
    assert row["option"] == "B"
    assert f"{case.rule} 1" in row["excluded_by"]


@pytest.mark.parametrize("name", list(CASES))
def test_checker_flags_the_broken_rule(name: str) -> None:
    case = CASES[name]
    where = market(case.children(), case.units(), offers=case.offers, policy=case.policy)
    c1, a, b = where.children["C1"], where.units["A"], where.units["B"]
    assert first_failing_rule(c1, a, where.offer("C1", "A"), where.inputs) == case.rule
    assert first_failing_rule(c1, b, where.offer("C1", "B"), where.inputs) is None
    report = check_table({"C1": "A"}, where.inputs)
    assert not report.ok
    assert report.rules() == {case.rule}


def two_children(**cells: Any) -> list[dict]:
    return [child("C1", **cells), child("C2", **cells)]


def test_vacancies_count_capacity_use() -> None:
    units = [unit("A", vacancies=2, weekly_price=3000), unit("B", vacancies=2)]
    offers = [offer("C1", "A", 3000, use=2), offer("C2", "A", 3000, use=1),
              offer("C1", "B", 4000, use=1), offer("C2", "B", 4000, use=1)]
    result = run(two_children(), units, offers=offers)
    placed = options_of(result.allocation)
    assert sorted(placed.values()) == ["A", "B"]
    inputs = result.inputs
    assert check_table({"C1": "A", "C2": "B"}, inputs).ok  # 2 places of 2: allowed
    assert check_table({"C1": "A", "C2": "A"}, inputs).rules() == {"vacancies"}


def test_staff_capacity_shared_by_the_unit() -> None:
    units = [unit("A", vacancies=2, staff_capacity=1, weekly_price=3000),
             unit("B", vacancies=2, staff_capacity=2)]
    result = run(two_children(staffing="1:1"), units)
    assert sorted(options_of(result.allocation).values()) == ["A", "B"]
    assert check_table({"C1": "A", "C2": "A"}, result.inputs).rules() == {"staffing"}
    assert check_table({"C1": "B", "C2": "B"}, result.inputs).ok


def test_staffing_uses_one_two_three_staff() -> None:
    children = [child("C1", staffing="1:1"), child("C2", staffing="2:1"),
                child("C3", staffing="standard")]
    units = [unit("A", vacancies=3, staff_capacity=3, weekly_price=1000)]
    where = market(children, units)
    assert check_table({"C1": "A", "C2": "A", "C3": "A"}, where.inputs).ok
    two_one = [child("C1", staffing="2:1"), child("C2", staffing="2:1")]
    assert check_table({"C1": "A", "C2": "A"}, market(two_one, units).inputs).rules() == {
        "staffing"}


def test_max_new_admissions() -> None:
    units = [unit("A", vacancies=3, max_new_admissions=1, weekly_price=3000),
             unit("B", vacancies=2, max_new_admissions=2)]
    result = run(two_children(), units)
    assert sorted(options_of(result.allocation).values()) == ["A", "B"]
    assert check_table({"C1": "A", "C2": "A"}, result.inputs).rules() == {"admissions_limit"}


def test_max_new_admissions_counts_children_not_places() -> None:
    units = [unit("A", vacancies=2, max_new_admissions=1, weekly_price=3000), unit("B")]
    offers = [offer("C1", "A", 3000, use=2), offer("C1", "B", 4000)]
    result = run([child("C1")], units, offers=offers)
    assert options_of(result.allocation) == {"C1": "A"}


def test_conflicting_children_never_share_a_unit() -> None:
    units = [unit("A", vacancies=2, weekly_price=3000), unit("B", vacancies=2)]
    conflicts = [{"child_a": "C2", "child_b": "C1", "reason": "risk"}]
    result = run(two_children(), units, conflicts=conflicts)
    assert sorted(options_of(result.allocation).values()) == ["A", "B"]
    assert check_table({"C1": "A", "C2": "A"}, result.inputs).rules() == {"conflict"}
    # The contract carries the conflict's reason to the outputs (it was read, then dropped):
    # both rows list it, and the child kept out of A is told why.
    rows = result.allocation.set_index("child_id")
    assert rows.loc["C1", "conflicts"] == "C2 (risk)" and rows.loc["C2", "conflicts"] == "C1 (risk)"
    apart = rows.index[rows["option"] == "B"][0]
    other = "C1" if apart == "C2" else "C2"
    assert f"{other} is placed in A" in rows.loc[apart, "reason"]
    assert "must not share a unit (risk)" in rows.loc[apart, "reason"]


def test_conflicting_children_may_share_a_fallback() -> None:
    units = [unit("F", setting="foster")]
    conflicts = [{"child_a": "C1", "child_b": "C2", "reason": ""}]
    result = run(two_children(), units, conflicts=conflicts)
    assert set(options_of(result.allocation).values()) == {"fallback:lcr:residential"}


FALLBACKS_OF_ONE = {"fallbacks": [
    {"route": "lcr", "setting": "residential", "weekly_price": 5200, "distance_miles": 30,
     "capacity": 1}]}


def test_fallback_capacity() -> None:
    units = [unit("F", setting="foster")]
    result = run(two_children(), units, policy=FALLBACKS_OF_ONE)
    assert sorted(options_of(result.allocation).values()) == ["fallback:lcr:residential",
                                                              "unplaced"]
    label = "fallback:lcr:residential"
    assert check_table({"C1": label, "C2": label}, result.inputs).rules() == {
        "fallback_capacity"}


def test_fallback_without_capacity_is_never_used() -> None:
    """A fallback with capacity 0 is closed: no child takes it, and the runner-up search,
    which prices it as an alternative, must not choke on it (found by the property tests)."""
    closed = {"fallbacks": [dict(FALLBACKS_OF_ONE["fallbacks"][0], capacity=0)]}
    result = run(two_children(), [unit("A")], policy=closed)
    assert sorted(options_of(result.allocation).values()) == ["A", "unplaced"]
    assert check_table({"C1": "A", "C2": "fallback:lcr:residential"},
                       result.inputs).rules() == {"fallback_capacity"}


def siblings(keep: tuple[str, str] = ("", ""), **cells: Any) -> list[dict]:
    return [child("C1", sibling_group="S", keep_together=keep[0], **cells),
            child("C2", sibling_group="S", keep_together=keep[1], **cells)]


@pytest.mark.parametrize("keep", [("", ""), ("false", "true"), ("yes", "no")])
def test_kept_sibling_group_takes_one_unit(keep: tuple[str, str]) -> None:
    units = [unit("A", weekly_price=3000), unit("B", vacancies=2)]
    result = run(siblings(keep), units)
    assert options_of(result.allocation) == {"C1": "B", "C2": "B"}
    assert check_table({"C1": "A", "C2": "B"}, result.inputs).rules() == {"sibling_group"}


def test_kept_group_with_no_shared_option_stays_together_unplaced() -> None:
    children = [child("C1", sibling_group="S", settings="foster"),
                child("C2", sibling_group="S", settings="residential")]
    units = [unit("F", setting="foster", weekly_price=800), unit("R")]
    result = run(children, units)
    assert options_of(result.allocation) == {"C1": "unplaced", "C2": "unplaced"}
    assert check_table({"C1": "F", "C2": "R"}, result.inputs).rules() == {"sibling_group"}


@pytest.mark.parametrize(("penalty", "split"), [(500, True), (2000, False)])
def test_group_not_kept_pays_the_split_penalty(penalty: int, split: bool) -> None:
    units = [unit("A", weekly_price=3000), unit("B", vacancies=2)]
    result = run(siblings(("false", "no")), units,
                 policy={"weights": {"sibling_split": penalty}})
    placed = options_of(result.allocation)
    assert (placed["C1"] != placed["C2"]) is split
    assert bool(result.summary["sibling_groups_split"]) is split
    apart = check_table({"C1": "A", "C2": "B"}, result.inputs)
    together = check_table({"C1": "B", "C2": "B"}, result.inputs)
    assert apart.ok and together.ok
    costs = Market.of(result.inputs)
    assert apart.objective_pence == (costs.cost("C1", "A") + costs.cost("C2", "B")
                                     + penalty * 100)


def test_group_all_unplaced_or_on_one_fallback_is_together() -> None:
    units = [unit("F", setting="foster")]
    where = market(siblings(), units)
    fallback = "fallback:lcr:residential"
    assert check_table({"C1": "unplaced", "C2": "unplaced"}, where.inputs).ok
    assert check_table({"C1": fallback, "C2": fallback}, where.inputs).ok
    assert check_table({"C1": fallback, "C2": "unplaced"}, where.inputs).rules() == {
        "sibling_group"}


SUPPORTED_FALLBACK = {"fallbacks": [
    {"route": "lcr", "setting": "supported", "weekly_price": 1000, "distance_miles": 10}]}


def test_under_16_never_supported_even_through_a_fallback() -> None:
    children = [child("C15", date_of_birth="2011-06-01", settings="supported"),
                child("C16", date_of_birth="2010-06-01", settings="supported")]
    units = [unit("S", setting="supported", weekly_price=900, vacancies=0)]
    result = run(children, units, policy=SUPPORTED_FALLBACK)
    assert options_of(result.allocation) == {"C15": "unplaced",
                                             "C16": "fallback:lcr:supported"}
    assert check_table({"C15": "fallback:lcr:supported", "C16": "unplaced"},
                       result.inputs).rules() == {"under_16"}


def test_the_under_16_rule_cannot_be_relaxed() -> None:
    with pytest.raises(InputError):
        allocate(frame([child("C1")]), frame([unit("A")]), as_of=AS_OF,
                 policy={"rules": {"under_16_supported": "allow"}})


def test_offers_restrict_units_but_not_fallbacks() -> None:
    units = [unit("A", weekly_price=1000, vacancies=2), unit("B", weekly_price=1000)]
    offers = [offer("C2", "A", 3000)]
    result = run(two_children(), units, offers=offers)
    assert options_of(result.allocation) == {"C1": "fallback:lcr:residential", "C2": "A"}
    assert check_table({"C1": "B", "C2": "A"}, result.inputs).rules() == {"no_offer"}


def test_offer_price_and_quality_replace_the_unit_price() -> None:
    units = [unit("A", weekly_price=1000)]
    offers = [offer("C1", "A", 3500.5, quality=90)]
    policy = {"weights": {"offer_quality_point": 2}}
    result = run([child("C1")], units, offers=offers, policy=policy)
    row = result.allocation.iloc[0]
    assert row["weekly_cost"] == pytest.approx(3500.5)
    assert row["objective_cost"] == pytest.approx(3500.5 + 10 * 1.0 + 2 * 10, abs=0.006)


UNPLACEABLE = [child("C1", needs="HSB"), child("C2")]
UNITS_FOR_UNPLACED = [unit("A"), unit("F", setting="foster"), unit("N", needs_supported="HSB",
                                                                  vacancies=0)]


def test_unplaced_child_is_reported_with_the_rule_for_each_unit() -> None:
    policy = {"fallbacks": []}
    result = run(UNPLACEABLE, UNITS_FOR_UNPLACED, policy=policy)
    assert options_of(result.allocation) == {"C1": "unplaced", "C2": "A"}
    rules = result.exclusions.set_index("unit_id")["rule"].to_dict()
    assert set(result.exclusions["child_id"]) == {"C1"}
    where = Market.of(result.inputs)
    expected = {u: first_failing_rule(where.children["C1"], where.units[u], None,
                                      where.inputs) or "full" for u in where.units}
    assert rules == expected == {"A": "needs", "F": "setting", "N": "vacancies"}


def test_full_unit_is_reported_as_full() -> None:
    result = run(two_children(), [unit("A")], policy={"fallbacks": []})
    unplaced = [c for c, o in options_of(result.allocation).items() if o == "unplaced"]
    assert len(unplaced) == 1
    assert result.exclusions["rule"].tolist() == ["full"]


def test_too_many_exclusions_keep_only_the_eligible_full_units(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Every unit for every unplaced child grows as their product: 2,000 unplaced children
    x 10,000 units took 8.5 GB (stress test). Past EXCLUSION_ROWS only the units a child was
    eligible for (all full) are listed, block by block, and summary.json says so."""
    import allocator.explain as explain

    children = [child(f"C{k}") for k in range(6)]
    units = [unit("A", vacancies=2), unit("B"), unit("F", setting="foster"),
             unit("N", needs_supported="HSB", vacancies=0)]
    full = run(children, units, policy={"fallbacks": []})
    assert full.summary["exclusions_csv"]["lists"] == "every unit for each unplaced child"
    assert len(full.exclusions) == 3 * 4 == full.summary["exclusions_csv"]["rows"]
    monkeypatch.setattr(explain, "EXCLUSION_ROWS", 5)  # 3 unplaced x 4 units is over
    short = run(children, units, policy={"fallbacks": []})
    assert short.summary["exclusions_csv"]["lists"].startswith("only the units each")
    kept = full.exclusions[full.exclusions["rule"] == "full"].reset_index(drop=True)
    pd.testing.assert_frame_equal(short.exclusions, kept, check_like=False)
    assert set(kept["unit_id"]) == {"A", "B"} and len(kept) == 6


def test_cli_allocate_exits_0_when_a_child_is_unplaced(tmp_path: Path) -> None:
    files = {}
    for name, rows in (("referrals", UNPLACEABLE), ("units", UNITS_FOR_UNPLACED)):
        files[name] = tmp_path / f"{name}.csv"
        frame(rows).to_csv(files[name], index=False)
    policy = tmp_path / "policy.yaml"
    policy.write_text("fallbacks: []\n", encoding="utf-8")
    out = tmp_path / "out"
    outcome = CliRunner().invoke(main, [
        "allocate", "--referrals", str(files["referrals"]), "--units", str(files["units"]),
        "--policy", str(policy), "--as-of", AS_OF.isoformat(), "--out", str(out)])
    assert outcome.exit_code == 0, outcome.output
    table = pd.read_csv(out / "allocation.csv", dtype=str, keep_default_na=False)
    assert options_of(table)["C1"] == "unplaced"
    exclusions = pd.read_csv(out / "exclusions.csv", dtype=str, keep_default_na=False)
    assert set(exclusions["child_id"]) == {"C1"}
    assert set(exclusions["rule"]) == {"needs", "setting", "vacancies"}


# Found by an outside audit: under --method greedy a child not in its cheapest option was
# told it was "best for the whole allocation", beside a runner-up that would save £3,500.
def test_only_a_proven_optimum_claims_to_be_best_for_the_whole_allocation() -> None:
    """E (an emergency, placed first by greedy) takes the cheap unit P wants; the optimum
    sends E to U2, which P's cap rules out, and P to U1; greedy leaves P the dear U3."""
    children = [child("E", urgency="emergency"), child("P", max_distance_miles="1.5")]
    units = [unit("U1", miles=1.0, weekly_price="4000", accepts_emergency="true"),
             unit("U2", miles=3.0, weekly_price="4100", accepts_emergency="true"),
             unit("U3", miles=1.2, weekly_price="4500")]
    reasons = {}
    for method in ("optimal", "greedy"):
        result = allocate(frame(children), frame(units), as_of=AS_OF, method=method)
        table = result.allocation.set_index("child_id")
        reasons[method] = (table.loc["E", "option"], table.loc["E", "reason"],
                           table.loc["P", "option"], table.loc["P", "reason"])
    e_option, e_reason, p_option, p_reason = reasons["optimal"]
    assert (e_option, p_option) == ("U2", "U1")
    assert "best for the whole allocation, as 1 cheaper option(s)" in e_reason
    e_option, e_reason, p_option, p_reason = reasons["greedy"]
    assert (e_option, p_option) == ("U1", "U3")
    assert "the lowest-cost of its eligible options" in e_reason
    assert "best for the whole allocation" not in p_reason
    assert "1 cheaper option(s) were already taken when its turn came (greedy" in p_reason
