"""``np.lexsort``'s order, computed faster for the keys this engine sorts by.

Grouping hundreds of thousands of columns by entity, then by cost, happens on every solve
(greedy order, first LP columns, pricing, runner-up chains). ``np.lexsort`` merge-sorts every
key; a chain of stable ``argsort`` calls gives exactly the same order. Two things make that
chain cheap here:

* adjacent integer keys are fused into one ``int64`` key (``primary * span + secondary``)
  whenever their spans multiply to less than 2**62, so one pass sorts them all; the engine's
  arrays are built entity by entity, so a fused key is mostly long sorted runs, which
  NumPy's stable sort (timsort) merges in near-linear time;
* a key (fused or not) spanning fewer than 2**16 values is sorted as ``uint16``, which NumPy
  radix-sorts.

On 556,000 matrix entries ordered by column, then row, this takes 0.009 s where chaining
the two keys took 0.051 s and ``np.lexsort`` 0.028 s.

:func:`ranges` reads whole groups back out of such an order.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

#: Integer keys spanning fewer values than this are sorted as 16-bit integers (radix sort).
RADIX_SPAN = 1 << 16
#: Fused keys stay below this span, clear of int64 overflow.
FUSED_SPAN = 1 << 62


def lexsort(keys: Sequence[np.ndarray]) -> np.ndarray:
    """The permutation ``np.lexsort(keys)`` returns: the last key is the primary one.

    Each pass is stable, so sorting by the least significant key first and the primary key
    last leaves ties in the order the earlier passes gave them, exactly as ``np.lexsort``;
    a fused key orders its parts exactly as passes over them would.
    """
    order: np.ndarray | None = None
    for key in _fused([np.asarray(key) for key in keys]):
        values = _compact(key if order is None else key[order])
        step = np.argsort(values, kind="stable")
        order = step if order is None else order[step]
    if order is None:
        raise ValueError("lexsort needs at least one key")
    return order


def ranges(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Concatenated ``arange(start, start + length)`` for each pair, without a loop: the
    positions of whole groups in a grouped (CSR) order."""
    total = int(lengths.sum())
    offsets = np.repeat(starts - np.cumsum(lengths) + lengths, lengths)
    return offsets + np.arange(total)


def _fused(keys: list[np.ndarray]) -> list[np.ndarray]:
    """The keys, least significant first, with runs of adjacent integer keys made one."""
    out: list[np.ndarray] = []
    fused: np.ndarray | None = None
    span = 1
    for key in keys:
        low, high = (int(key.min()), int(key.max())) if _integral(key) and len(key) else (0, -1)
        width = high - low + 1
        if not 0 < width < FUSED_SPAN:  # floats, empty keys, int64 keys of extreme span
            if fused is not None:
                out.append(fused)
                fused = None
            out.append(key)
            continue
        if fused is not None and span * width >= FUSED_SPAN:
            out.append(fused)
            fused = None
        shifted = key.astype(np.int64) - low if low else key.astype(np.int64)
        if fused is None:
            fused, span = shifted, width
        else:
            fused = shifted * span + fused
            span *= width
    if fused is not None:
        out.append(fused)
    return out


def _integral(values: np.ndarray) -> bool:
    """Integers or booleans whose values fit int64 after shifting (uint64 may not)."""
    return values.dtype == bool or (np.issubdtype(values.dtype, np.integer)
                                    and values.dtype != np.uint64)


def _compact(values: np.ndarray) -> np.ndarray:
    """Integers (and booleans) of a small span as ``uint16``, which NumPy radix-sorts."""
    if values.dtype == bool:
        return values.view(np.uint8)
    if not np.issubdtype(values.dtype, np.integer) or not len(values):
        return values
    low, high = int(values.min()), int(values.max())
    if high - low >= RADIX_SPAN:
        return values
    return (values - low).astype(np.uint16) if low else values.astype(np.uint16)
