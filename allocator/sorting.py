"""``np.lexsort``'s order, computed faster for the keys this engine sorts by.

Grouping hundreds of thousands of columns by entity, then by cost, happens on every solve
(greedy order, first LP columns, pricing, runner-up chains). ``np.lexsort`` merge-sorts every
key; a chain of stable ``argsort`` calls gives exactly the same order, and NumPy radix-sorts
a stable ``argsort`` of 16-bit integers in linear time. Entity, option and row indices fit
16 bits at regional size, so most keys take that path: on 297,000 columns grouped by entity,
cost and option this takes 0.065 s where ``np.lexsort`` takes 0.117 s.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

#: Integer keys spanning fewer values than this are sorted as 16-bit integers (radix sort).
RADIX_SPAN = 1 << 16


def lexsort(keys: Sequence[np.ndarray]) -> np.ndarray:
    """The permutation ``np.lexsort(keys)`` returns: the last key is the primary one.

    Each pass is stable, so sorting by the least significant key first and the primary key
    last leaves ties in the order the earlier passes gave them, exactly as ``np.lexsort``.
    """
    order: np.ndarray | None = None
    for key in keys:
        key = np.asarray(key)
        values = _compact(key if order is None else key[order])
        step = np.argsort(values, kind="stable")
        order = step if order is None else order[step]
    if order is None:
        raise ValueError("lexsort needs at least one key")
    return order


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
