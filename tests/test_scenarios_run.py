"""The examples run; results come back from their seed; a scenario against itself is zero."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from scenario_support import EXAMPLES, GROWTH, small

from allocator.cli import main
from scenarios.config import load_scenario
from scenarios.montecarlo import compare, run


@pytest.mark.parametrize("name", ["sefton-baseline.yaml", "sefton-local-growth.yaml",
                                  "lcr-price-shock.yaml"])
def test_example_runs_at_a_small_count(tmp_path: Path, name: str) -> None:
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["scenario", "run", str(EXAMPLES / name), "--out",
                                       str(out), "--replications", "2", "--workers", "1"])
    assert result.exit_code == 0, result.output
    assert "weekly spend" in result.output
    for file in ("summary.csv", "weekly.csv", "replications.csv", "distance.csv",
                 "results.xlsx", "spend.png", "distance.png", "fallback.png", "run.json"):
        assert (out / file).stat().st_size > 0, file
    weekly = pd.read_csv(out / "weekly.csv")
    assert weekly["week"].max() == 51
    spend = weekly[weekly["measure"] == "spend"]
    assert (spend["low"] <= spend["mean"]).all() and (spend["mean"] <= spend["high"]).all()
    assert (spend["mean"] > 0).all()
    assert set(pd.ExcelFile(out / "results.xlsx", engine="calamine").sheet_names) == {
        "summary", "weekly", "replications", "distance"}


def test_compare_command_writes_paired_differences(tmp_path: Path) -> None:
    out = tmp_path / "cmp"
    result = CliRunner().invoke(main, [
        "scenario", "compare", str(EXAMPLES / "sefton-baseline.yaml"),
        str(EXAMPLES / "lcr-price-shock.yaml"), "--out", str(out), "--replications", "2",
        "--workers", "1"])
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out / "differences.csv").set_index("measure")
    # LCR prices up 8%: the same children cost more, and the difference is paired.
    assert table.loc["total_spend", "difference"] > 0
    assert (out / "spend.png").exists() and (out / "results.xlsx").exists()


def test_a_run_is_reproducible_from_its_seed() -> None:
    scenario = small()
    first = run(scenario, workers=1)
    again = run(scenario, workers=1)
    np.testing.assert_array_equal(first.weekly, again.weekly)
    np.testing.assert_array_equal(first.distance_counts, again.distance_counts)
    other = run(scenario, seed=scenario.seed + 1, workers=1)
    assert not np.array_equal(first.weekly, other.weekly)


def test_a_scenario_compared_with_itself_differs_by_exactly_zero() -> None:
    scenario = small(interventions=GROWTH)
    table = compare(scenario, scenario, workers=1).differences()
    assert (table["difference"] == 0).all()
    assert (table["low"] == 0).all() and (table["high"] == 0).all()


def test_more_local_places_cut_fallback_use_and_distance() -> None:
    comparison = compare(small(), small("growth", interventions=GROWTH), workers=1,
                         replications=6)
    table = comparison.differences()
    assert table.loc["fallback_weeks", "difference"] < 0
    assert table.loc["mean_distance", "difference"] < 0
    # Paired: the interval of the difference is narrower than either run's own spread.
    width = table.loc["total_spend", "high"] - table.loc["total_spend", "low"]
    own = comparison.a.summary().loc["total_spend"]
    assert width < own["high"] - own["low"]


def test_occupied_out_folder_is_refused(tmp_path: Path) -> None:
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "keep.txt").write_text("mine")
    scenario = EXAMPLES / "sefton-baseline.yaml"
    result = CliRunner().invoke(main, ["scenario", "run", str(scenario), "--out",
                                       str(tmp_path / "x"), "--replications", "1"])
    assert result.exit_code == 2 and "not empty" in result.output
    assert (tmp_path / "x" / "keep.txt").read_text() == "mine"
    assert load_scenario(scenario).name == "Sefton baseline"


def test_progress_bar_only_when_asked_for_a_terminal(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    scenario = tmp_path / "s.yaml"
    scenario.write_text("name: s\nmarket: {demo: {units: 300, seed: 7}}\nhorizon_weeks: 3\n"
                        "warmup_weeks: 1\nreplications: 3\ndemand: {pool: {children: 1000}}\n")
    args = ["scenario", "run", str(scenario), "--workers", "1", "--out"]
    quiet = CliRunner().invoke(main, [*args, str(tmp_path / "a")])
    assert quiet.exit_code == 0 and quiet.stderr == ""
    monkeypatch.setenv("PDPS_PROGRESS", "1")
    shown = CliRunner().invoke(main, [*args, str(tmp_path / "b")])
    assert shown.exit_code == 0 and "replications" in shown.stderr
    assert "replications" not in shown.stdout.split("\n", 1)[1]
