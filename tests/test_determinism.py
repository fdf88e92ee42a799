"""Same inputs, same allocation.csv, byte for byte; and an output folder whole or absent.

The contract (section 8) promises that the same inputs, policy, ``--as-of`` and seed give a
byte-identical ``allocation.csv``, and that nothing is written to ``--out`` unless the run
succeeds. Runs here go through the real command line, in-process and in fresh interpreters
with different hash seeds (so set and dict orders cannot leak into the output).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from oracle import AS_OF

from allocator.api import check
from allocator.cli import main
from scenarios.demo_data import generate, write

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def market_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A synthetic market with sibling groups, emergencies and conflicts, as contract CSVs."""
    folder = tmp_path_factory.mktemp("market") / "in"
    write(generate(40, 20, 11, AS_OF), folder)
    return {role: folder / f"{role}.csv" for role in ("referrals", "units", "conflicts")}


def allocate_args(files: dict[str, Path], out: Path, *extra: str) -> list[str]:
    return ["allocate", "--referrals", str(files["referrals"]), "--units", str(files["units"]),
            "--conflicts", str(files["conflicts"]), "--as-of", AS_OF.isoformat(),
            "--out", str(out), *extra]


def run_in_process(args: list[str]) -> int:
    outcome = CliRunner().invoke(main, args)
    assert outcome.exception is None or isinstance(outcome.exception, SystemExit), \
        outcome.output
    return outcome.exit_code


def run_fresh(args: list[str], hash_seed: str) -> subprocess.CompletedProcess[str]:
    env = os.environ | {"PYTHONHASHSEED": hash_seed}
    return subprocess.run([sys.executable, "-c", "from allocator.cli import main; main()",
                           *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=300, check=False)


def test_same_inputs_give_a_byte_identical_allocation(market_files: dict[str, Path],
                                                      tmp_path: Path) -> None:
    first, second = tmp_path / "first", tmp_path / "elsewhere" / "second"
    assert run_in_process(allocate_args(market_files, first)) == 0
    assert run_in_process(allocate_args(market_files, second)) == 0
    assert (first / "allocation.csv").read_bytes() == (second / "allocation.csv").read_bytes()
    assert (first / "exclusions.csv").read_bytes() == (second / "exclusions.csv").read_bytes()
    assert (first / "place_values.csv").read_bytes() == (second / "place_values.csv").read_bytes()


def test_fresh_processes_with_other_hash_seeds_agree(market_files: dict[str, Path],
                                                     tmp_path: Path) -> None:
    outputs = []
    for hash_seed in ("1", "2"):
        out = tmp_path / f"run{hash_seed}"
        done = run_fresh(allocate_args(market_files, out, "--seed", "3"), hash_seed)
        assert done.returncode == 0, done.stderr
        outputs.append((out / "allocation.csv").read_bytes())
    assert outputs[0] == outputs[1]


def test_written_allocation_passes_the_checker(market_files: dict[str, Path],
                                               tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert run_in_process(allocate_args(market_files, out)) == 0
    report = check(out / "allocation.csv", market_files["referrals"], market_files["units"],
                   conflicts=market_files["conflicts"], as_of=AS_OF)
    assert report.ok, report.text()
    summary = pd.read_json(out / "summary.json", typ="series")
    assert report.objective_pence == round(summary["objective"] * 100)


def _leftovers(parent: Path, name: str) -> list[Path]:
    """Anything a run might have left beside ``--out``: the folder or a staging copy."""
    return [p for p in parent.iterdir() if p.name == name or p.name.startswith(f".{name}")]


def test_bad_input_writes_nothing(market_files: dict[str, Path], tmp_path: Path) -> None:
    referrals = pd.read_csv(market_files["referrals"], dtype=str, keep_default_na=False)
    referrals.loc[3, "sex"] = "X"
    broken = dict(market_files, referrals=tmp_path / "broken.csv")
    referrals.to_csv(broken["referrals"], index=False)
    out = tmp_path / "results"
    outcome = CliRunner().invoke(main, allocate_args(broken, out))
    assert outcome.exit_code == 2
    assert "row 5" in outcome.output and "sex" in outcome.output
    assert _leftovers(tmp_path, "results") == []


def test_a_folder_of_other_files_is_left_alone(market_files: dict[str, Path],
                                               tmp_path: Path) -> None:
    out = tmp_path / "results"
    out.mkdir()
    (out / "notes.txt").write_text("mine", encoding="utf-8")
    assert run_in_process(allocate_args(market_files, out)) == 2
    assert [p.name for p in out.iterdir()] == ["notes.txt"]
    assert _leftovers(tmp_path, "results") == [out]


def test_a_rerun_replaces_the_folder_whole(market_files: dict[str, Path],
                                           tmp_path: Path) -> None:
    out = tmp_path / "results"
    assert run_in_process(allocate_args(market_files, out)) == 0
    before = (out / "allocation.csv").read_bytes()
    assert run_in_process(allocate_args(market_files, out, "--method", "greedy")) == 0
    names = sorted(p.name for p in out.iterdir())
    assert names == ["allocation.csv", "allocation.xlsx", "exclusions.csv", "manifest.json",
                     "place_values.csv", "summary.json"]
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["method"] == "greedy"
    greedy = pd.read_csv(out / "allocation.csv", dtype=str, keep_default_na=False)
    assert len(greedy) == 40
    assert (out / "allocation.csv").read_bytes() != before  # greedy is worse on this market
    assert _leftovers(tmp_path, "results") == [out]


def test_the_manifest_records_the_solver_flags(market_files: dict[str, Path],
                                               tmp_path: Path) -> None:
    """Found in review: ``--gap`` changed the run but the manifest kept the policy's 0.0, so
    a re-run from it could differ."""
    out = tmp_path / "results"
    flags = ("--gap", "0.25", "--seed", "7", "--time-limit", "12")
    assert run_in_process(allocate_args(market_files, out, *flags)) == 0
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert (manifest["gap"], manifest["seed"], manifest["time_limit_s"]) == (0.25, 7, 12.0)
