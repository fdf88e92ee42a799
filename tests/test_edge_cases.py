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
