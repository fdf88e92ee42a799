"""``allocator.sorting.lexsort`` must give exactly ``np.lexsort``'s permutation: every solve
and every explanation depends on its tie order, and so does byte-identical output."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from allocator.sorting import lexsort

SIZES = st.integers(min_value=0, max_value=300)


def _keys(draw: st.DrawFn, n: int) -> list[np.ndarray]:
    kinds = draw(st.lists(st.sampled_from(["small", "offset", "wide", "extreme", "narrow",
                                           "unsigned", "float", "bool"]),
                          min_size=1, max_size=5))
    keys = []
    for kind in kinds:
        if kind == "small":  # few distinct values: many ties, the radix path
            keys.append(draw(hnp.arrays(np.int64, n, elements=st.integers(0, 5))))
        elif kind == "offset":  # a small span far from zero, also radix after shifting
            keys.append(draw(hnp.arrays(np.int64, n, elements=st.integers(-70_010, -70_000))))
        elif kind == "wide":  # wider than 16 bits: the comparison-sort path
            keys.append(draw(hnp.arrays(np.int64, n, elements=st.integers(-2**40, 2**40))))
        elif kind == "extreme":  # the whole int64 range: too wide to fuse or to shift
            keys.append(draw(hnp.arrays(np.int64, n, elements=st.sampled_from(
                [-2**63, -2**62, -1, 0, 2**62 - 1, 2**63 - 1]))))
        elif kind == "narrow":  # other integer dtypes fuse too
            keys.append(draw(hnp.arrays(st.sampled_from([np.int8, np.uint8, np.int32]), n)))
        elif kind == "unsigned":  # uint64 may not fit int64: never fused
            keys.append(draw(hnp.arrays(np.uint64, n, elements=st.sampled_from(
                [0, 1, 2**63, 2**64 - 1]))))
        elif kind == "float":
            keys.append(draw(hnp.arrays(np.float64, n, elements=st.sampled_from(
                [0.0, -0.0, 1.5, -3.0, np.inf, -np.inf, np.nan, 2.0]))))
        else:
            keys.append(draw(hnp.arrays(np.bool_, n)))
    return keys


@st.composite
def key_sets(draw: st.DrawFn) -> list[np.ndarray]:
    return _keys(draw, draw(SIZES))


@given(key_sets())
@settings(max_examples=300, deadline=None)
def test_same_permutation_as_numpy(keys: list[np.ndarray]) -> None:
    assert np.array_equal(lexsort(keys), np.lexsort(keys))


def test_regional_sized_grouping_matches() -> None:
    """The shape the engine sorts: ~300,000 columns by option, cost, then entity."""
    rng = np.random.default_rng(7)
    n = 300_000
    entity = np.sort(rng.integers(0, 1_000, n))
    option = rng.integers(0, 2_003, n)
    cost = rng.integers(0, 500_000, n).astype(float)
    keys = (option, cost, entity)
    assert np.array_equal(lexsort(keys), np.lexsort(keys))


def test_fused_keys_of_long_runs_match() -> None:
    """The engine's matrix: entries in runs by column, rows ascending within each."""
    rng = np.random.default_rng(11)
    col = np.concatenate([np.arange(s, 277_000, 7) for s in range(7)])
    row = rng.integers(0, 3_300, len(col))
    keys = (row, col)
    assert np.array_equal(lexsort(keys), np.lexsort(keys))


def test_no_keys_is_an_error() -> None:
    with pytest.raises(ValueError):
        lexsort([])
