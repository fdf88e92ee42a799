"""``write_text_csv`` builds large CSVs itself; they must be pandas' bytes exactly.

Every output CSV is compared byte for byte by users (the same inputs give the same
``allocation.csv``), so the fast path is held to ``as_text_table(frame).to_csv`` on cells
chosen to need quoting, defusing, money formatting, booleans and blanks.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import allocator.write as write_module
from allocator.write import as_text_table, write_text_csv

TEXT = st.sampled_from(["", "plain", "a,b", 'say "hi"', "two\nlines", "cr\rhere", "=1+1",
                        "+44 151", "-5", "@SUM(A1)", "\tx", "'quoted", " padded ", "£1,000",
                        "Öffentlich", "trailing,"])
# -0.0 is written -0.00 (money) or '-0.0 (text), yet equals 0.0: it must not share 0.0's cell.
MONEY = st.one_of(st.none(), st.floats(min_value=0, max_value=1e7, allow_nan=False),
                  st.sampled_from([float("nan"), -0.0, 0.0, -1.5]))
# 1 == True and 0 == False, yet pandas writes them differently in an object column.
MIXED = st.sampled_from([1, True, 0, False, 1.0, "1", "True", None, -0.0, 0.0])
FLAG = st.sampled_from([True, False, None])


@st.composite
def frames(draw: st.DrawFn) -> pd.DataFrame:
    n = draw(st.integers(min_value=0, max_value=60))
    texts = draw(st.lists(st.one_of(TEXT, st.none()), min_size=n, max_size=n))
    money = draw(st.lists(MONEY, min_size=n, max_size=n))
    flags = draw(st.lists(FLAG, min_size=n, max_size=n))
    counts = draw(st.lists(st.integers(-3, 3), min_size=n, max_size=n))
    mixed = draw(st.lists(MIXED, min_size=n, max_size=n))
    floats = draw(st.lists(MONEY, min_size=n, max_size=n))
    return pd.DataFrame({"child_id": pd.Series(texts, dtype=object),
                         "weekly_cost": pd.Series(money, dtype=float),
                         "in_borough": pd.Series(flags, dtype=object),
                         "eligible_options": pd.Series(counts, dtype=np.int64),
                         "meaning": pd.Series(texts[::-1], dtype=object),
                         "mixed": pd.Series(mixed, dtype=object),
                         "share": pd.Series(floats, dtype=float)})


@given(frames())
@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_the_fast_path_writes_pandas_bytes(tmp_path: Path, frame: pd.DataFrame) -> None:
    slow, fast = tmp_path / "slow.csv", tmp_path / "fast.csv"
    as_text_table(frame).to_csv(slow, index=False, lineterminator="\n")
    original = write_module.FAST_CSV_ROWS
    write_module.FAST_CSV_ROWS = 0  # every frame takes the fast path
    try:
        write_text_csv(frame, fast)
    finally:
        write_module.FAST_CSV_ROWS = original
    assert fast.read_bytes() == slow.read_bytes()


def test_a_large_repetitive_table_takes_the_fast_path(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """The shape of ``exclusions.csv``: many rows, few distinct cells."""
    n = 3 * write_module.FAST_CSV_ROWS
    frame = pd.DataFrame({"child_id": np.repeat(["=C1", "C,2", "C3"], n // 3),
                          "unit_id": np.tile([f"U{k}" for k in range(n // 3)], 3),
                          "rule": np.where(np.arange(n) % 7 == 0, "distance_cap", "full")})
    slow = tmp_path / "slow.csv"
    as_text_table(frame).to_csv(slow, index=False, lineterminator="\n")
    calls: list[int] = []
    monkeypatch.setattr(write_module, "_csv_field",
                        lambda text, real=write_module._csv_field: calls.append(1) or real(text))
    write_text_csv(frame, tmp_path / "fast.csv")
    assert calls, "the fast path was not taken"
    assert (tmp_path / "fast.csv").read_bytes() == slow.read_bytes()
