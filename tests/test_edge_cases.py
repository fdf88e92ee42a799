"""Markets at the edges: nobody waiting, no units, no fallbacks. A result, never a fault."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from allocator.api import allocate
from allocator.check import check_allocation
from allocator.cli import main


def test_no_referrals_gives_an_empty_allocation(tmp_path: Path, referrals_frame: pd.DataFrame,
                                                units_frame: pd.DataFrame,
                                                write_table, as_of: date) -> None:
    referrals = write_table(referrals_frame.iloc[:0], "referrals.csv")
    units = write_table(units_frame, "units.csv")
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["allocate", "-r", str(referrals), "-u", str(units),
                                       "--as-of", as_of.isoformat(), "--out", str(out)])
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out / "allocation.csv")
    assert table.empty and "child_id" in table.columns
    assert "Placed 0 of 0 children" in result.output


def test_no_units_and_no_fallbacks_leaves_everyone_unplaced(referrals_frame: pd.DataFrame,
                                                            units_frame: pd.DataFrame,
                                                            as_of: date) -> None:
    result = allocate(referrals_frame, units_frame.iloc[:0], as_of=as_of,
                      policy={"fallbacks": []})
    assert (result.allocation["option"] == "unplaced").all()
    assert result.summary["status"] == "optimal"
    assert result.summary["objective"] == 100000 * len(referrals_frame)
    assert check_allocation(result.allocation, result.inputs).ok
    # every child is told why: each unit (there are none) and no fallback
    assert result.allocation["reason"].str.startswith("Unplaced").all()


# Found in review: allocate(gap=nan) (and pdps allocate --gap nan) ran as a gap of 0 and wrote
# NaN, which is not JSON, into manifest.json; the API's overrides skipped the policy's checks.
@pytest.mark.parametrize(("override", "named"), [
    ({"gap": float("nan")}, "gap=nan"), ({"gap": 1.0}, "gap=1.0"),
    ({"time_limit_s": -1.0}, "time_limit_s=-1.0"),
    ({"time_limit_s": float("inf")}, "time_limit_s=inf"), ({"seed": -1}, "seed=-1")])
def test_solver_overrides_are_checked_as_the_policy_is(referrals_frame: pd.DataFrame,
                                                       units_frame: pd.DataFrame, as_of: date,
                                                       override: dict, named: str) -> None:
    with pytest.raises(ValueError, match=named):
        allocate(referrals_frame, units_frame, as_of=as_of, **override)


# Found in review: a policy file without read permission was an internal fault (exit 1), and
# a CSV without it was "not a readable table", as if it were corrupt.
def test_a_file_that_cannot_be_opened_is_named_with_the_reason(
        tmp_path: Path, referrals_frame: pd.DataFrame, units_frame: pd.DataFrame,
        write_table, as_of: date, monkeypatch: pytest.MonkeyPatch) -> None:
    referrals = write_table(referrals_frame, "referrals.csv")
    units = write_table(units_frame, "units.csv")
    policy = tmp_path / "policy.yaml"
    policy.write_text("horizon_weeks: 26\n", encoding="utf-8")
    locked = {referrals.name, policy.name}
    real_open = open
    real_read_text = Path.read_text

    def no_permission(path: Path) -> None:
        if Path(path).name in locked:
            raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr("builtins.open", lambda file, *a, **k: (
        no_permission(file) if isinstance(file, str | Path) else None) or real_open(file, *a, **k))
    monkeypatch.setattr(Path, "read_text", lambda self, *a, **k: (
        no_permission(self) or real_read_text(self, *a, **k)))
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["allocate", "-r", str(referrals), "-u", str(units),
                                       "--policy", str(policy), "--as-of", as_of.isoformat(),
                                       "--out", str(out)])
    assert result.exit_code == 2, result.output
    for name in locked:
        assert f"{name}: cannot read this file (Permission denied)" in result.output
    assert not out.exists()
