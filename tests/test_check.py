"""The checker itself: its readings of the contract, worked by hand, and its failure modes.

The checker is the oracle every other allocation test trusts, so its own sums are checked
against numbers worked out on paper, and every way an allocation table can be wrong (a
child missing or twice, an unknown option, a column that disagrees) must be reported.
"""

from __future__ import annotations

import ast
import math
import re
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from oracle import (
    AS_OF,
    HOME,
    brute_force,
    check_table,
    child,
    frame,
    north,
    unit,
)

from allocator import check as checker
from allocator import checkrules
from allocator.api import AllocationResult, allocate
from allocator.check import (
    Market,
    check_allocation,
    expected_approvals,
    first_failing_rule,
    miles,
    option_cost,
    read_allocation,
    to_pence,
)
from allocator.cli import main
from allocator.issues import InputError
from allocator.validate import load_inputs

ENGINE_STEPS = {"allocator.eligibility", "allocator.costs", "allocator.model", "allocator.solve",
                "allocator.arrays", "allocator.explain", "allocator.greedy",
                "allocator.nextbest", "allocator.problem"}


def test_rule_names_and_order_match_the_engine() -> None:
    """Same names, same attribution order: "why not" counts must be comparable."""
    from allocator.eligibility import RULES

    assert RULES[1:] == checker.RULES


@pytest.mark.parametrize("module", [checker, checkrules])
def test_checker_imports_nothing_from_the_engine(module: object) -> None:
    tree = ast.parse(Path(module.__file__).read_text(encoding="utf-8"))
    imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    imported |= {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import)
                 for alias in node.names}
    assert not imported & ENGINE_STEPS


def test_haversine_uses_the_contract_radius() -> None:
    assert miles(0, 0, 90, 0) == pytest.approx(math.pi / 2 * 3958.8, rel=1e-12)
    assert miles(*HOME, *HOME) == 0
    assert miles(HOME[0], HOME[1], north(7), HOME[1]) == pytest.approx(7, abs=1e-9)


@pytest.mark.parametrize(("pounds", "pence"), [
    ([0.125], 13), ([-0.125], -13), ([1.005], 101), ([2.675], 268), ([0.1, 0.2], 30),
    ([1000, 0.004], 100000), ([1000, 0.005], 100001)])
def test_pounds_are_summed_then_rounded_half_away_from_zero(pounds: list[float],
                                                            pence: int) -> None:
    assert to_pence(pounds) == pence


def worked_market(**given: object) -> Market:
    """One child with every cost term switched on, one unit, and optional offers."""
    children = [child("C1", staffing="1:1", therapy_need="true", key_stage_4="true",
                      school_lat=repr(north(-5)), school_lon=str(HOME[1]))]
    units = [unit("A", miles=7.0, weekly_price="3000.50", local_authority="Wirral",
                  ofsted_rating="requires_improvement", route="lcr", staff_capacity=1)]
    offers = given.pop("offers", None)
    return Market.of(load_inputs(frame(children), frame(units), as_of=AS_OF,
                                 offers=None if offers is None else frame(offers), **given))


def test_option_cost_worked_by_hand() -> None:
    where = worked_market()
    c1, a = where.children["C1"], where.units["A"]
    # price + 1:1 default add-on + therapy add-on + 7 miles + out of area + at distance
    # + school move (12 miles from school) + requires improvement + lcr route
    pounds = 3000.50 + 1800 + 450 + 70 + 150 + 400 + 500 + 250 + 350
    assert option_cost(c1, a, None, where.inputs) == round(pounds * 100)
    fallback = where.fallbacks["fallback:lcr:residential"]
    assert option_cost(c1, fallback, None, where.inputs) == (5200 + 350 + 300 + 150 + 400) * 100
    assert option_cost(c1, None, None, where.inputs) == 100000 * 100


def test_offer_cost_worked_by_hand() -> None:
    offers = [{"child_id": "C1", "unit_id": "A", "weekly_price": "4000", "quality_score": "90"}]
    where = worked_market(offers=offers, policy={"weights": {"offer_quality_point": 2}})
    pounds = 4000 + 70 + 150 + 400 + 500 + 250 + 350 + 2 * (100 - 90)
    assert where.cost("C1", "A") == round(pounds * 100)
    blank_score = [dict(offers[0], quality_score="")]
    where = worked_market(offers=blank_score, policy={"weights": {"offer_quality_point": 2}})
    assert where.cost("C1", "A") == round((pounds - 20) * 100)


def test_approvals_worked_by_hand() -> None:
    where = worked_market()
    c1 = where.children["C1"]
    assert expected_approvals(c1, where.units["A"], where.inputs) == {
        "executive_director_csc", "nominated_officer", "dcs", "ks4_nominated_officer"}
    fallback = where.fallbacks["fallback:regional:foster"]
    assert expected_approvals(c1, fallback, where.inputs) == {
        "executive_director_csc", "nominated_officer", "dcs", "ks4_nominated_officer"}
    assert expected_approvals(c1, None, where.inputs) == set()


@pytest.mark.parametrize(("born", "weeks", "adult"), [
    ("2009-11-25", "", True),  # 17 today
    ("2009-11-26", "", False),  # 16, and 18 after the 26-week horizon
    ("2009-12-01", "53", True),  # 18 exactly 53 weeks (371 days) from --as-of
    ("2009-12-02", "53", False),  # a day later
    ("2009-12-01", "52", False),
])
def test_transition_to_adult_care_needs_asc_approval(born: str, weeks: str, adult: bool) -> None:
    inputs = load_inputs(frame([child("C1", date_of_birth=born, expected_weeks=weeks)]),
                         frame([unit("A", route="in_house")]), as_of=AS_OF)
    where = Market.of(inputs)
    needed = expected_approvals(where.children["C1"], where.units["A"], inputs)
    assert needed == ({"executive_director_asc"} if adult else set())


def test_in_house_unit_in_borough_needs_no_approval() -> None:
    where = Market.of(load_inputs(frame([child("C1")]), frame([unit("A", route="in_house")]),
                                  as_of=AS_OF))
    assert expected_approvals(where.children["C1"], where.units["A"], where.inputs) == set()
    assert first_failing_rule(where.children["C1"], where.units["A"], None,
                              where.inputs) is None


SMALL_CHILDREN = [child("C1"), child("C2", settings="foster"), child("C3", needs="HSB")]
SMALL_UNITS = [unit("A", vacancies=2), unit("F", setting="foster", route="in_house",
                                            local_authority="Liverpool", weekly_price=800)]


@pytest.fixture(scope="module")
def small_result() -> AllocationResult:
    """Three children, two units, one fallback placement: a real allocation to tamper with."""
    return allocate(frame(SMALL_CHILDREN), frame(SMALL_UNITS), as_of=AS_OF)


def test_engine_allocation_checks_clean(small_result: AllocationResult) -> None:
    report = check_allocation(small_result.allocation, small_result.inputs)
    assert report.ok, report.text()
    assert report.skipped_columns == ()
    assert report.objective_pence == round(small_result.summary["objective"] * 100)


def test_written_csv_and_workbook_check_clean(small_result: AllocationResult,
                                               tmp_path: Path) -> None:
    small_result.write(tmp_path / "out")
    for name in ("allocation.csv", "allocation.xlsx"):
        table = read_allocation(tmp_path / "out" / name)
        assert set(table.map(type).stack()) == {str}
        report = check_allocation(table, small_result.inputs)
        assert report.ok, report.text()
        assert report.skipped_columns == ()


# Found by an outside audit: allocate wrote weekly_cost with Python's round() of a float
# (999.995 + 450 came out 1449.99) and the checker with round() of float pence (1000.005 +
# 1800 came out 2800.00). Both now round half away from zero as the decimals were written.
def test_weekly_cost_rounds_half_pennies_away_from_zero(tmp_path: Path) -> None:
    children = [child("T1", therapy_need="true"), child("T2", staffing="1:1")]
    # Distances off any penny boundary, so only weekly_cost meets a half penny.
    units = [unit("A", miles=1.234567, weekly_price="999.995"),
             unit("B", miles=1.7654321, weekly_price="1000.005", staff_capacity=2)]
    result = allocate(frame(children), frame(units), as_of=AS_OF)
    paid = dict(zip(result.allocation["child_id"], result.allocation["weekly_cost"],
                    strict=True))
    assert paid == {"T1": 1450.00, "T2": 2800.01}  # 1,449.995 and 2,800.005
    assert result.summary["total_weekly_cost"] == 4250.01
    result.write(tmp_path / "out")
    for name in ("allocation.csv", "allocation.xlsx"):
        report = check_allocation(read_allocation(tmp_path / "out" / name), result.inputs)
        assert report.ok, report.text()


@pytest.mark.parametrize(("column", "value"), [
    ("provider_id", "PX"), ("setting", "foster"), ("route", "spot"), ("place_code", "K3"),
    ("place_provider", "PR1"), ("weekly_cost", "3999.99"), ("objective_cost", "4011.00"),
    ("distance_miles", "2.50"), ("in_borough", "false"), ("approvals", "dcs"),
])
def test_a_wrong_column_is_reported(small_result: AllocationResult, column: str,
                                    value: str) -> None:
    table = small_result.allocation.astype(object).copy()
    table.loc[0, column] = value
    report = check_allocation(table, small_result.inputs)
    assert [(v.child_id, v.rule) for v in report.violations] == [("C1", f"column:{column}")]
    if column == "distance_miles":  # as the CSV writes it, not 2.9793909603644693
        assert re.search(r"expected \d+\.\d\d$", report.violations[0].message), report.text()


def test_missing_duplicate_and_unknown_rows_are_reported(small_result: AllocationResult) -> None:
    table = small_result.allocation[["child_id", "option"]].copy()
    tampered = pd.concat([table.iloc[[0, 0, 2]], pd.DataFrame(
        {"child_id": ["C9", "C2"], "option": ["A", "nowhere"]})], ignore_index=True)
    report = check_allocation(tampered, small_result.inputs)
    assert {(v.child_id, v.rule) for v in report.violations} == {
        ("C1", "duplicate_child"), ("C2", "unknown_option"), ("C9", "unknown_child")}
    report = check_allocation(table.iloc[[0, 2]], small_result.inputs)
    assert {(v.child_id, v.rule) for v in report.violations} == {("C2", "missing_child")}


def test_a_table_without_an_option_column_is_bad_input(small_result: AllocationResult) -> None:
    with pytest.raises(InputError):
        check_allocation(small_result.allocation[["child_id"]], small_result.inputs)


def test_objective_counts_every_unplaced_child(small_result: AllocationResult) -> None:
    everyone_out = {"C1": "unplaced", "C2": "unplaced", "C3": "unplaced"}
    assert check_table(everyone_out, small_result.inputs).objective_pence == 3 * 100000 * 100


def test_brute_force_pruning_loses_nothing() -> None:
    """The oracle's cost bound only skips assignments that cannot be better."""
    children = [child(f"C{i}", settings="residential;foster", sex="MF"[i % 2],
                      sibling_group="S" if i < 2 else "", keep_together="false" if i < 2 else "")
                for i in range(4)]
    units = [unit(f"U{j}", miles=0.5 * j, setting=["residential", "foster"][j % 2],
                  weekly_price=900 * (j + 1)) for j in range(3)]
    inputs = load_inputs(frame(children), frame(units), as_of=AS_OF)
    pruned = brute_force(inputs)
    everything = brute_force(inputs, exhaustive=True)
    assert pruned.objective_pence == everything.objective_pence
    assert everything.feasible_count > pruned.feasible_count


def _cli_files(tmp_path: Path) -> list[str]:
    referrals, units = tmp_path / "referrals.csv", tmp_path / "units.csv"
    frame(SMALL_CHILDREN).to_csv(referrals, index=False)
    frame(SMALL_UNITS).to_csv(units, index=False)
    return ["--referrals", str(referrals), "--units", str(units), "--as-of", AS_OF.isoformat()]


def test_cli_check_exit_codes(small_result: AllocationResult, tmp_path: Path) -> None:
    inputs = _cli_files(tmp_path)
    small_result.write(tmp_path / "out")
    good = tmp_path / "out" / "allocation.csv"
    runner = CliRunner()
    outcome = runner.invoke(main, ["check", "--allocation", str(good), *inputs])
    assert outcome.exit_code == 0, outcome.output
    objective = small_result.summary["objective"]
    assert outcome.output.startswith("OK") and f"£{objective:,.2f}" in outcome.output
    table = pd.read_csv(good, dtype=str, keep_default_na=False)
    table.loc[table["child_id"] == "C3", "option"] = "A"
    bad = tmp_path / "bad.csv"
    table.to_csv(bad, index=False)
    outcome = runner.invoke(main, ["check", "--allocation", str(bad), *inputs])
    assert outcome.exit_code == 3
    assert "C3: needs" in outcome.output
    outcome = runner.invoke(main, ["check", "--allocation", str(tmp_path / "no.csv"), *inputs])
    assert outcome.exit_code == 2
    assert "file not found" in outcome.output


@pytest.mark.parametrize("content", [b"not a workbook", b"PK\x05\x06" + b"\x00" * 18])
def test_cli_check_an_unreadable_workbook_is_bad_input(tmp_path: Path, content: bytes) -> None:
    """A corrupt allocation.xlsx is the user's file, not a fault: exit 2 (was 1, BadZipFile
    or KeyError), naming the file."""
    inputs = _cli_files(tmp_path)
    broken = tmp_path / "allocation.xlsx"
    broken.write_bytes(content)
    outcome = CliRunner().invoke(main, ["check", "--allocation", str(broken), *inputs])
    assert outcome.exit_code == 2, outcome.output
    assert "allocation.xlsx" in outcome.output and "not a readable Excel workbook" in \
        outcome.output


def test_cli_check_never_echoes_a_long_cell_whole(small_result: AllocationResult,
                                                 tmp_path: Path) -> None:
    """An option cell holding a whole row run together is quoted to 30 characters."""
    inputs = _cli_files(tmp_path)
    small_result.write(tmp_path / "out")
    table = pd.read_csv(tmp_path / "out" / "allocation.csv", dtype=str, keep_default_na=False)
    table.loc[0, "option"] = "U1,P1,foster,in_house,U6,PR1,500.00,C2,N1,2012-05-01"
    bad = tmp_path / "bad.csv"
    table.to_csv(bad, index=False)
    outcome = CliRunner().invoke(main, ["check", "--allocation", str(bad), *inputs])
    assert outcome.exit_code == 3, outcome.output
    assert "unknown_option" in outcome.output and "2012-05-01" not in outcome.output


# Found in review: a header naming option twice was read as option and option.1, and the
# check passed on the first copy though the second broke a rule; blank rows a spreadsheet
# leaves after clearing cells were "unknown children" with no row named.
def test_a_repeated_column_is_refused_and_blank_rows_are_dropped(
        small_result: AllocationResult, tmp_path: Path) -> None:
    small_result.write(tmp_path / "out")
    text = (tmp_path / "out" / "allocation.csv").read_text(encoding="utf-8")
    lines = text.splitlines()
    width = lines[0].count(",")
    blank = tmp_path / "blank.csv"
    blank.write_text("\n".join([*lines, "," * width, "," * width]) + "\n", encoding="utf-8")
    assert check_allocation(read_allocation(blank), small_result.inputs).ok
    repeated = tmp_path / "repeated.csv"
    repeated.write_text("\n".join([lines[0] + ",option"] + [row + ",unplaced"
                                                             for row in lines[1:]]) + "\n",
                        encoding="utf-8")
    with pytest.raises(InputError) as caught:
        read_allocation(repeated)
    assert [str(e) for e in caught.value.errors] == [
        f"{repeated}, row 1, column option: the column appears 2 times"]


# calamine reads an error cell as blank: a '#N/A' option was reported as "no unit or
# fallback ''", with no word of the error.
def test_an_error_cell_in_an_allocation_workbook_is_refused(small_result: AllocationResult,
                                                             tmp_path: Path) -> None:
    import xlsxwriter

    small_result.write(tmp_path / "out")
    table = read_allocation(tmp_path / "out" / "allocation.csv")
    path = tmp_path / "allocation.xlsx"
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("allocation")
    for column, name in enumerate(table.columns):
        sheet.write_string(0, column, name)
        for row, value in enumerate(table[name], start=1):
            sheet.write_string(row, column, value)
    option = list(table.columns).index("option")
    sheet.write_formula(2, option, "=NA()", None, "#N/A")
    book.close()
    with pytest.raises(InputError) as caught:
        read_allocation(path)
    assert [str(e) for e in caught.value.errors] == [
        f"{path}, row 3, column option: the cell holds a spreadsheet error (#N/A): correct "
        "its formula or type the value"]
