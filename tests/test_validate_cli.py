"""``pdps validate`` on a referrals file with ten different mistakes: all ten, exit 2, no trace.

Checked twice: in process with click's runner (what the command prints) and as a real process
(the exit status the shell sees, and that stderr has no traceback).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from allocator.cli import main

AS_OF = "2026-11-25"

# (data row index, column, bad cell, the message expected for it at spreadsheet row index + 2)
MISTAKES = [
    (0, "date_of_birth", "2012-02-30", "expected a date written YYYY-MM-DD between 1677-09-22 "
     "and 2262-04-11"),
    (0, "sex", "X", "expected one of M, F, found 'X'"),
    (1, "settings", "foster;castle", "expected a ';'-separated list of foster, residential, "
     "supported, parent_child, found 'foster;castle'"),
    (1, "therapy_need", "maybe", "expected true/false, yes/no, y/n or 1/0, found 'maybe'"),
    (1, "home_lon", "", "required value is blank"),
    (2, "home_lat", "95.1234", "must be at most 90"),
    (2, "expected_weeks", "2.5", "expected a whole number, found '2.5'"),
    (3, "urgency", "soon", "expected one of emergency, planned, found 'soon'"),
    (3, "max_distance_miles", "far", "expected a number, found 'far'"),
    (3, "child_id", "C001", "duplicate child_id: the same id is on row 2"),
]


@pytest.fixture
def ten_mistakes(tmp_path: Path, referrals_frame: pd.DataFrame,
                 units_frame: pd.DataFrame) -> tuple[Path, Path, list[str]]:
    """Referrals and units CSVs in ``tmp_path/in``, and the ten lines ``pdps`` must print."""
    folder = tmp_path / "in"
    folder.mkdir()
    for index, column, value, _ in MISTAKES:
        referrals_frame.loc[index, column] = value
    referrals, units = folder / "referrals.csv", folder / "units.csv"
    referrals_frame.to_csv(referrals, index=False)
    units_frame.to_csv(units, index=False)
    expected = [f"{referrals}, row {index + 2}, column {column}: {message}"
                for index, column, _, message in MISTAKES]
    return referrals, units, expected


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file()}


def _check_report(stderr: str, expected: list[str]) -> None:
    lines = stderr.strip().splitlines()
    assert sorted(lines[:-1]) == sorted(expected)
    assert lines[-1] == "10 error(s): nothing was written."
    assert "Traceback" not in stderr
    for sensitive in ("2012-02-30", "95.1234"):
        assert sensitive not in stderr


def test_ten_mistakes_are_all_reported_in_process(ten_mistakes: tuple[Path, Path, list[str]],
                                                  tmp_path: Path) -> None:
    referrals, units, expected = ten_mistakes
    before = _snapshot(tmp_path)
    result = CliRunner().invoke(main, ["validate", "--referrals", str(referrals), "--units",
                                       str(units), "--as-of", AS_OF])
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert result.stdout == ""
    _check_report(result.stderr, expected)
    assert _snapshot(tmp_path) == before


def _pdps() -> str:
    beside = Path(sys.executable).parent / "pdps"
    found = str(beside) if beside.exists() else shutil.which("pdps")
    if found is None:
        pytest.skip("the pdps command is not installed")
    return found


def test_ten_mistakes_are_all_reported_by_the_command(ten_mistakes: tuple[Path, Path, list[str]],
                                                      tmp_path: Path) -> None:
    referrals, units, expected = ten_mistakes
    work = tmp_path / "cwd"
    work.mkdir()
    before = _snapshot(tmp_path)
    done = subprocess.run([_pdps(), "validate", "-r", str(referrals), "-u", str(units),
                           "--as-of", AS_OF], cwd=work, capture_output=True, text=True,
                          timeout=120, env={**os.environ, "PYTHONWARNINGS": "ignore"})
    assert done.returncode == 2, done.stderr
    assert done.stdout == ""
    _check_report(done.stderr, expected)
    assert _snapshot(tmp_path) == before


def test_valid_input_exits_0_with_a_summary(contract_files: dict[str, Path]) -> None:
    result = CliRunner().invoke(main, [
        "validate", "--referrals", str(contract_files["referrals"]), "--units",
        str(contract_files["units"]), "--offers", str(contract_files["offers"]),
        "--conflicts", str(contract_files["conflicts"]), "--as-of", AS_OF])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"Inputs valid as of {AS_OF}: 4 referrals, 3 units "
                                    "(5 vacancies) from 2 providers, 3 offers, 2 conflicts.")
    # C001 may go to foster or residential, so children with two settings count under each.
    assert "  foster                0        3\n  residential           1        1\n" \
        "  supported             1        0\n" in result.stdout
    assert "  residential        2 children could use it,      2 vacancies" in result.stdout
    assert result.stderr == ""


def test_no_referrals_is_valid(contract_files: dict[str, Path], tmp_path: Path) -> None:
    empty = tmp_path / "none.csv"
    empty.write_text("child_id,date_of_birth,sex,settings,home_lat,home_lon\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["validate", "-r", str(empty), "-u",
                                       str(contract_files["units"]), "--as-of", AS_OF])
    assert result.exit_code == 0, result.output
    assert "0 referrals, 3 units" in result.stdout


def test_warnings_go_to_stderr_and_do_not_fail(contract_files: dict[str, Path],
                                               referrals_frame: pd.DataFrame,
                                               tmp_path: Path) -> None:
    referrals_frame["name"] = "Ann"
    path = tmp_path / "named.csv"
    referrals_frame.to_csv(path, index=False)
    result = CliRunner().invoke(main, ["validate", "-r", str(path), "-u",
                                       str(contract_files["units"]), "--as-of", AS_OF])
    assert result.exit_code == 0, result.output
    assert result.stderr == (f"{path}, row 1, column name: warning: not a contract column: "
                             "ignored and never copied to outputs\n")
    assert "Ann" not in result.stdout


@pytest.mark.parametrize(("args", "message"), [
    (["--as-of", "25/11/2026"], "--as-of: expected a date written YYYY-MM-DD"),
    (["--policy", "missing.yaml"], "missing.yaml: file not found"),
    (["--offers", "offers.json"], "offers.json: unknown file type: use .csv, .xlsx or .parquet"),
])
def test_bad_options_exit_2_naming_the_problem(contract_files: dict[str, Path], args: list[str],
                                               message: str) -> None:
    result = CliRunner().invoke(main, ["validate", "-r", str(contract_files["referrals"]),
                                       "-u", str(contract_files["units"]), *args])
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [message, "1 error(s): nothing was written."]


def test_a_missing_required_option_is_a_usage_error(contract_files: dict[str, Path]) -> None:
    result = CliRunner().invoke(main, ["validate", "-r", str(contract_files["referrals"])])
    assert result.exit_code == 2
    assert "Missing option '--units'" in result.stderr
