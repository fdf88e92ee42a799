"""Vectorised draws the generators share: categories, per-row mixtures, ``;``-lists and ids.

Everything takes the caller's :class:`numpy.random.Generator` and draws whole columns at
once, so a market of 100,000 children costs the same number of calls as one of 40, and the
same generator state always gives the same columns.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

import numpy as np
import pandas as pd


def categorical(rng: np.random.Generator, shares: Mapping[Any, float], size: int) -> np.ndarray:
    """``size`` draws from the keys of ``shares`` (normalised), as an object array."""
    keys = list(shares)
    p = np.array([shares[k] for k in keys], dtype=float)
    picks = rng.choice(len(keys), size=size, p=p / p.sum())
    table = np.empty(len(keys), dtype=object)
    for i, key in enumerate(keys):  # element by element: tuple keys must stay whole
        table[i] = key
    return table[picks]


def row_categorical(rng: np.random.Generator, probabilities: np.ndarray) -> np.ndarray:
    """One index per row of an ``(n, k)`` matrix of unnormalised probabilities."""
    cumulative = np.cumsum(probabilities, axis=1)
    u = rng.random(len(probabilities)) * cumulative[:, -1]
    return np.minimum((u[:, None] >= cumulative).sum(axis=1), probabilities.shape[1] - 1)


def index_of(values: np.ndarray, keys: Sequence[str]) -> np.ndarray:
    """Position of each value in ``keys`` (-1 where absent): a loop over keys, not rows."""
    index = np.full(len(values), -1, dtype=np.int64)
    for k, key in enumerate(keys):
        index[values == key] = k
    return index


def band_index(age: np.ndarray, bands: Sequence[tuple[int, int]]) -> np.ndarray:
    """Position of the inclusive ``(low, high)`` band each age falls in (-1 where none)."""
    index = np.full(len(age), -1, dtype=np.int64)
    for k, (low, high) in enumerate(bands):
        index[(age >= low) & (age <= high)] = k
    return index


def by_group(rng: np.random.Generator, index: np.ndarray,
             tables: Sequence[Mapping[Any, float]]) -> np.ndarray:
    """A draw per row from ``tables[index]`` (None where the index is -1).

    Every table is drawn for every row whether or not any row uses it, so the stream of
    random numbers does not depend on which groups happen to occur.
    """
    out = np.full(len(index), None, dtype=object)
    for k, shares in enumerate(tables):
        draws = categorical(rng, shares, len(index))
        mask = index == k
        out[mask] = draws[mask]
    return out


def by_key(rng: np.random.Generator, values: np.ndarray,
           tables: Mapping[str, Mapping[Any, float]]) -> np.ndarray:
    """A draw per row from the table named by the row's value (a setting, a profile)."""
    return by_group(rng, index_of(values, list(tables)), list(tables.values()))


def by_band(rng: np.random.Generator, age: np.ndarray,
            tables: Mapping[tuple[int, int], Mapping[Any, float]]) -> np.ndarray:
    """A draw per row from the table of the age band the row's age falls in."""
    return by_group(rng, band_index(age, list(tables)), list(tables.values()))


def lookup(table: Mapping[Any, float], values: np.ndarray, missing: float = 0.0) -> np.ndarray:
    """``table[value]`` for every value, as floats (``missing`` where the table has none)."""
    codes, uniques = pd.factorize(np.asarray(values, dtype=object))
    found = np.array([table.get(u, missing) for u in uniques] + [missing], dtype=float)
    return found[codes]  # code -1 (a missing value) takes the appended ``missing``


def contains(values: np.ndarray, word: str) -> np.ndarray:
    """Whether each ``;``-list cell holds ``word``, testing each distinct cell once."""
    codes, uniques = pd.factorize(np.asarray(values, dtype=object))
    found = np.array([word in str(u).split(";") for u in uniques] + [False], dtype=bool)
    return found[codes]


def join_flags(flags: np.ndarray, codes: Sequence[str]) -> np.ndarray:
    """``;``-joined codes where each row's flag is set, in ``codes`` order ('' when none).

    Rows are grouped by their pattern of flags, and each distinct pattern (a few thousand at
    most) is joined once.
    """
    weights = np.left_shift(1, np.arange(len(codes), dtype=np.int64))
    patterns = flags.astype(np.int64) @ weights
    distinct, inverse = np.unique(patterns, return_inverse=True)
    text = np.array([";".join(c for j, c in enumerate(codes) if (p >> j) & 1)
                     for p in distinct.tolist()] + [""], dtype=object)
    return text[inverse.reshape(-1)] if len(patterns) else np.array([], dtype=object)


def ids(prefix: str, count: int, width: int) -> np.ndarray:
    """``C000001``-style ids; the width grows if ``count`` needs more digits."""
    digits = max(width, len(str(count)))
    numbers = np.arange(1, count + 1).astype(str)
    return np.char.add(prefix, np.char.zfill(numbers, digits)).astype(object)


def iso_dates(as_of: date, days_after: np.ndarray) -> np.ndarray:
    """``YYYY-MM-DD`` text for ``as_of`` plus a whole number of days (negative: before)."""
    base = np.datetime64(as_of.isoformat(), "D")
    return np.datetime_as_string(base + days_after.astype("timedelta64[D]"),
                                 unit="D").astype(object)


def rounded_price(values: np.ndarray, step: float) -> np.ndarray:
    """Prices as quoted: to the nearest ``step`` pounds (so a file reads ``4790``)."""
    return np.round(values / step) * step
