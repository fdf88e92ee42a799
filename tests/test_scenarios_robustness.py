"""A user's mistake in the scenario and demo-data commands: exit 2, one line naming what was
wrong, no traceback, nothing written (found in review, each reproduced here)."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from click.testing import CliRunner
from scenario_support import EXAMPLES

from allocator.cli import main
from allocator.issues import InputError
from allocator.write import FORMULA_START, PLAIN_NUMBER
from scenarios.config import load_scenario
from scenarios.growth import _check_reachable
from scenarios.limits import MAX_CHILDREN, MAX_UNITS
from scenarios.outputs import write_tables

SMALL = """\
name: t
market: {demo: {units: 50, seed: 1}}
replications: 2
horizon_weeks: 4
warmup_weeks: 1
"""
LONG = "x" * 300
FORMULAS = ['=HYPERLINK("http://x")', "@SUM(A1)", "-2+3", "\tx", "+A1"]


def _write(tmp_path: Path, text: str, name: str = "s.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _refused(result: object, *words: str) -> str:
    """The output of a run that exited 2 with a message and no traceback."""
    output = result.output  # type: ignore[attr-defined]
    assert result.exit_code == 2, output  # type: ignore[attr-defined]
    assert "Traceback" not in output and "internal error" not in output
    for word in words:
        assert word in output, output
    return output


def _nothing_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any simulating or generating fails the test: a refusal must come before the work."""
    def forbidden(*args: object, **kwargs: object) -> None:
        raise AssertionError("work was started before the input was checked")

    import scenarios.demo_data
    import scenarios.growth
    import scenarios.montecarlo

    monkeypatch.setattr(scenarios.montecarlo, "run", forbidden)
    monkeypatch.setattr(scenarios.montecarlo, "compare", forbidden)
    monkeypatch.setattr(scenarios.growth, "compile_market", forbidden)
    monkeypatch.setattr(scenarios.demo_data, "generate", forbidden)


# 1. An impossible date in a scenario file ---------------------------------------------------

@pytest.mark.parametrize("when, words", [
    ("2026-02-30", ["as_of", "day value is outside expected range"]),
    ("0001-01-01", ["as_of", "1900-01-01", "2200-12-31"]),
])
def test_a_bad_as_of_names_the_file_and_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                            when: str, words: list[str]) -> None:
    _nothing_runs(monkeypatch)
    path = _write(tmp_path, SMALL + f"as_of: {when}\n")
    result = CliRunner().invoke(main, ["scenario", "run", str(path), "--out",
                                       str(tmp_path / "out"), "--workers", "1"])
    _refused(result, str(path), *words)
    assert not (tmp_path / "out").exists()


def test_an_impossible_date_in_a_candidates_file_is_named(tmp_path: Path) -> None:
    from scenarios.growth import load_candidates

    path = _write(tmp_path, "candidates:\n  - {id: a, setting: foster, place: Bootle, "
                  "price: 500, colour: 2026-02-30}\n", "c.yaml")
    with pytest.raises(InputError) as caught:
        load_candidates(path)
    assert "candidates.0.colour" in caught.value.report()


# 2. An --out name too long for the file system ----------------------------------------------

@pytest.mark.parametrize("command", ["demo-data", "run", "compare", "plan-growth"])
@pytest.mark.parametrize("out", [LONG, f"sub/{LONG}/x"])
def test_an_overlong_out_is_refused_before_any_work(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch,
                                                    command: str, out: str) -> None:
    _nothing_runs(monkeypatch)
    scenario = str(_write(tmp_path, SMALL))
    args = {"demo-data": ["demo-data", "--children", "2", "--units", "2"],
            "run": ["scenario", "run", scenario],
            "compare": ["scenario", "compare", scenario, scenario],
            "plan-growth": ["scenario", "plan-growth", scenario, "--candidates",
                            str(EXAMPLES / "sefton-candidates.yaml"), "--places", "2"]}[command]
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, [*args, "--out", out])
    output = _refused(result, "--out", "300 bytes", "255")
    assert len(output.splitlines()[0]) < 200
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.yaml"]


# 3. --places that no set of candidates adds up to --------------------------------------------

def test_places_no_candidates_add_up_to_is_a_usage_error(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    _nothing_runs(monkeypatch)
    result = CliRunner().invoke(main, [
        "scenario", "plan-growth", str(EXAMPLES / "sefton-baseline.yaml"), "--candidates",
        str(EXAMPLES / "sefton-candidates.yaml"), "--places", "5", "--samples", "1",
        "--replications", "2", "--out", str(tmp_path / "plan")])
    _refused(result, "--places", "no choice of candidates adds exactly 5 places",
             "2, 4, 6, 8, 10, 12, 14, 16")
    assert not (tmp_path / "plan").exists()


def test_many_possible_totals_show_the_nearest() -> None:
    sizes = pd.Series([10] * 20).to_numpy()
    with pytest.raises(InputError) as caught:
        _check_reachable(sizes, 45)
    assert "nearest possible totals are 40 and 50" in caught.value.report()
    _check_reachable(sizes, 50)  # reachable: no error
    _check_reachable(pd.Series([2, 3]).to_numpy(), 5)


# 4. Text a spreadsheet would run as a formula ------------------------------------------------

def _formula_cells(folder: Path) -> list[str]:
    """Every CSV cell or xlsx cell that a spreadsheet would evaluate."""
    found = []
    for path in folder.glob("*.csv"):
        with path.open(encoding="utf-8", newline="") as handle:
            for row in csv.reader(handle):
                found += [f"{path.name}: {c!r}" for c in row
                          if c.startswith(FORMULA_START) and not re.fullmatch(PLAIN_NUMBER, c)]
    for sheet in openpyxl.load_workbook(folder / "results.xlsx"):
        for row in sheet.iter_rows():
            found += [f"{sheet.title}!{c.coordinate}: {c.value!r}" for c in row
                      if c.data_type == "f" or (isinstance(c.value, str)
                                                and c.value.startswith(FORMULA_START)
                                                and not re.fullmatch(PLAIN_NUMBER, c.value))]
    return found


def test_written_tables_defuse_every_text_cell(tmp_path: Path) -> None:
    table = pd.DataFrame({"id": [*FORMULAS, "-101", "plain"], "n": range(7),
                          "flag": [True] * 7})
    write_tables(tmp_path / "out", {"choice": table})
    assert _formula_cells(tmp_path / "out") == []
    written = pd.read_csv(tmp_path / "out" / "choice.csv", dtype=str, keep_default_na=False)
    assert written["id"].tolist()[:2] == ["'" + FORMULAS[0], "'@SUM(A1)"]
    assert written["id"].tolist()[5:] == ["-101", "plain"]  # plain numbers stay as written
    assert written["n"].tolist() == [str(i) for i in range(7)]


def test_plan_growth_defuses_candidate_ids(tmp_path: Path) -> None:
    scenario = _write(tmp_path, SMALL)
    lines = "".join(f"  - {{id: {text!r}, setting: foster, place: Bootle, places: 2, "
                    "price: 500}\n"
                    for text in ['=HYPERLINK("http://x")', "@SUM(A1)", "+1"])
    candidates = _write(tmp_path, "candidates:\n" + lines, "c.yaml")
    result = CliRunner().invoke(main, [
        "scenario", "plan-growth", str(scenario), "--candidates", str(candidates),
        "--places", "2", "--samples", "1", "--workers", "1", "--out", str(tmp_path / "p")])
    assert result.exit_code == 0, result.output
    assert _formula_cells(tmp_path / "p") == []
    choice = (tmp_path / "p" / "choice.csv").read_text(encoding="utf-8")
    assert "'=HYPERLINK" in choice and "'@SUM(A1)" in choice


# 5. Sizes beyond any real council's ----------------------------------------------------------

@pytest.mark.parametrize("text, key, bound", [
    ("demand: {looked_after: 1000000000}", "demand.looked_after", "200000"),
    ("market: {demo: {units: 100000000, seed: 1}}", "market.demo.units", "200000"),
    ("demand: {pool: {children: 100000000}}", "demand.pool.children", "200000"),
    ("demand: {arrivals_per_week: {foster: 1.0e9}}", "demand.arrivals_per_week.foster", "2000"),
    ("demand: {entries_per_child_year: 1000000}", "entries_per_child_year", "2,000"),
    ("demand:\n  looked_after: 5000\n  durations:\n" + "".join(
        f"    {s}: {{median_weeks: 250, spread: 3}}\n"
        for s in ("foster", "residential", "supported", "parent_child")),
     "demand", "200,000"),
    ("demand:\n  durations:\n    foster: {median_weeks: 1.0e9}\n", "median_weeks", "260"),
])
def test_huge_scenario_sizes_are_refused_naming_key_and_bound(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str, key: str,
        bound: str) -> None:
    _nothing_runs(monkeypatch)
    path = _write(tmp_path, SMALL.replace("market: {demo: {units: 50, seed: 1}}\n", "")
                  + ("" if "market" in text else "market: {demo: {units: 50, seed: 1}}\n")
                  + text + "\n")
    result = CliRunner().invoke(main, ["scenario", "run", str(path), "--out",
                                       str(tmp_path / "out"), "--workers", "1"])
    _refused(result, str(path), key, bound)
    assert not (tmp_path / "out").exists()


def test_the_bounds_themselves_are_accepted() -> None:
    from scenarios.config import parse_scenario

    parse_scenario({"name": "t", "market": {"demo": {"units": MAX_UNITS}},
                    "demand": {"looked_after": MAX_CHILDREN}})


@pytest.mark.parametrize("option, other", [("--units", "--children"),
                                           ("--children", "--units")])
def test_huge_demo_data_sizes_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                          option: str, other: str) -> None:
    _nothing_runs(monkeypatch)
    result = CliRunner().invoke(main, ["demo-data", option, "100000000", other, "10",
                                       "--out", str(tmp_path / "d")])
    _refused(result, option, "200000")
    assert not (tmp_path / "d").exists()


# 6. A demo-data date the engine cannot hold ---------------------------------------------------

@pytest.mark.parametrize("when", ["0001-01-01", "1899-12-31", "2201-01-01", "9999-12-31"])
def test_demo_data_as_of_outside_the_supported_range(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch,
                                                    when: str) -> None:
    _nothing_runs(monkeypatch)
    result = CliRunner().invoke(main, ["demo-data", "--as-of", when, "--children", "2",
                                       "--units", "2", "--out", str(tmp_path / "d")])
    _refused(result, "--as-of", "1900-01-01", "2200-12-31")
    assert not (tmp_path / "d").exists()


@pytest.mark.parametrize("when", ["1900-01-01", "2200-12-31"])
def test_demo_data_at_the_ends_of_the_range(tmp_path: Path, when: str) -> None:
    result = CliRunner().invoke(main, ["demo-data", "--as-of", when, "--children", "20",
                                       "--units", "20", "--out", str(tmp_path / "d")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "d" / "units.csv").exists()


def test_an_intervention_past_the_horizon_is_refused(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """Found in review: week 99 of a 4-week horizon was accepted, and the comparison then
    showed no effect from a change that never happened. The last week is still allowed."""
    _nothing_runs(monkeypatch)
    change = "interventions:\n  - {{type: change_demand, factor: 1.5, week: {week}}}\n"
    path = _write(tmp_path, SMALL + change.format(week=99))
    result = CliRunner().invoke(main, ["scenario", "run", str(path), "--out",
                                       str(tmp_path / "out"), "--workers", "1"])
    _refused(result, str(path), "interventions.0.change_demand.week", "weeks 0 to 3")
    assert not (tmp_path / "out").exists()
    assert load_scenario(_write(tmp_path, SMALL + change.format(week=3))).interventions


def test_one_replication_reports_no_interval_rather_than_nan(tmp_path: Path) -> None:
    """Found in review: ``replications: 1`` printed "(nan to nan)" after every figure."""
    one = SMALL.replace("replications: 2", "replications: 1")
    a, b = _write(tmp_path, one, "a.yaml"), _write(tmp_path, one.replace("units: 50", "units: 52"),
                                                   "b.yaml")
    run = CliRunner().invoke(main, ["scenario", "run", str(a), "--out", str(tmp_path / "r"),
                                    "--workers", "1"])
    assert run.exit_code == 0 and "no 95% intervals" in run.output, run.output
    compared = CliRunner().invoke(main, ["scenario", "compare", str(a), str(b), "--out",
                                         str(tmp_path / "c"), "--workers", "1"])
    assert compared.exit_code == 0 and "none from one replication" in compared.output
    assert "nan" not in run.output + compared.output, run.output + compared.output
