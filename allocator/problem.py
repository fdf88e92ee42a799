"""From validated inputs to a built model: encode, find eligible pairs, cost them, build.

:class:`Problem` keeps every intermediate product, because explanations need them all:
which rule excluded a unit, what a pair costs and why, which column a child took.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from allocator.arrays import Children, Units, children_arrays, units_arrays
from allocator.costs import PairCosts, PairDetail, pair_detail, pair_pence
from allocator.eligibility import Eligibility, Offers, eligibility
from allocator.model import Model, build_model
from allocator.sorting import lexsort
from allocator.validate import Inputs


@dataclass(frozen=True)
class Problem:
    inputs: Inputs
    children: Children
    units: Units
    offers: Offers | None
    conflicts: np.ndarray  # (k, 2) child indices
    conflict_reasons: tuple[str, ...]
    elig: Eligibility
    costs: PairCosts
    model: Model
    seconds: dict[str, float] = field(default_factory=dict)
    #: Pairs the model's columns were built from, when the market is too large for all.
    candidates: np.ndarray | None = None

    def detail(self, pairs: np.ndarray) -> PairDetail:
        """Price paid, miles and school move of some eligible pairs, for explanations."""
        pairs = np.asarray(pairs, dtype=np.int64)
        return pair_detail(self.children, self.units, self.inputs.policy, self.offers,
                           self.elig.child[pairs].astype(np.int64),
                           self.elig.unit[pairs].astype(np.int64), self.elig.offer[pairs])


def offer_arrays(inputs: Inputs) -> Offers | None:
    if inputs.offers is None:
        return None
    offers = inputs.offers
    child = _positions(inputs.referrals["child_id"], offers["child_id"])
    unit = _positions(inputs.units["unit_id"], offers["unit_id"])
    order = lexsort((unit, child))
    return Offers(child[order], unit[order], offers["weekly_price"].to_numpy(float)[order],
                  offers["quality_score"].to_numpy(float)[order],
                  offers["capacity_use"].to_numpy(np.int64)[order])


def conflict_arrays(inputs: Inputs) -> tuple[np.ndarray, tuple[str, ...]]:
    if inputs.conflicts is None or inputs.conflicts.empty:
        return np.zeros((0, 2), dtype=np.int64), ()
    table = inputs.conflicts
    a = _positions(inputs.referrals["child_id"], table["child_a"])
    b = _positions(inputs.referrals["child_id"], table["child_b"])
    pairs = np.stack([np.minimum(a, b), np.maximum(a, b)], axis=1)
    _, first = np.unique(pairs, axis=0, return_index=True)
    first = np.sort(first)
    reasons = tuple("" if r is None else str(r) for r in table["reason"].to_numpy()[first])
    return pairs[first], reasons


def _positions(ids: pd.Series, wanted: pd.Series) -> np.ndarray:
    """Row positions of ``wanted`` ids (validation guarantees every id is known)."""
    return pd.Index(ids.to_numpy()).get_indexer(wanted.to_numpy()).astype(np.int64)


def build_problem(inputs: Inputs) -> Problem:
    """Run the pipeline's steps up to a built model, timing each."""
    seconds: dict[str, float] = {}
    start = time.perf_counter()
    children = children_arrays(inputs)
    units = units_arrays(inputs)
    offers = offer_arrays(inputs)
    conflicts, reasons = conflict_arrays(inputs)
    seconds["encode"] = time.perf_counter() - start
    mark = time.perf_counter()
    policy = inputs.policy

    def price(c: np.ndarray, u: np.ndarray, d: np.ndarray, o: np.ndarray) -> np.ndarray:
        return pair_pence(children, units, policy, offers, c, u, d, o)

    elig = eligibility(children, units, policy, offers, price=price)
    costs = PairCosts(elig.pence)
    seconds["eligibility"] = time.perf_counter() - mark
    mark = time.perf_counter()
    candidates = first_candidates(children, elig) if elig.pairs > MAX_MODEL_PAIRS else None
    model = build_model(children, units, elig, costs, inputs.policy, conflicts, candidates)
    seconds["build"] = time.perf_counter() - mark
    return Problem(inputs, children, units, offers, conflicts, reasons, elig, costs, model,
                   seconds, candidates)


#: Above this many eligible pairs, the model is built over candidate pairs and the rest are
#: priced in rounds (allocator/universe.py).
MAX_MODEL_PAIRS = 1_500_000
#: Fewest candidate pairs per child.
MIN_PER_CHILD = 40


def first_candidates(children: Children, elig: Eligibility) -> np.ndarray:
    """Each child's cheapest pairs, and each unit's cheapest pair.

    The unit side matters: a unit with no candidate pair gets no row and a zero dual, so
    every pair there would price out and pricing would need many rounds. Children in a
    sibling group kept together choose through group columns, built from every pair.
    """
    per_child = max(MIN_PER_CHILD, MAX_MODEL_PAIRS // max(children.n, 1) // 2)
    starts = np.searchsorted(elig.child, np.arange(children.n + 1, dtype=elig.child.dtype))
    chosen = []
    for i in range(children.n):
        lo, hi = int(starts[i]), int(starts[i + 1])
        if hi - lo <= per_child:
            chosen.append(np.arange(lo, hi))
        else:
            chosen.append(lo + np.sort(np.argpartition(elig.pence[lo:hi], per_child)[:per_child]))
    cheapest = np.full(int(elig.unit.max(initial=-1)) + 1, np.iinfo(np.int64).max)
    np.minimum.at(cheapest, elig.unit, elig.pence)
    chosen.append(np.flatnonzero(elig.pence == cheapest[elig.unit]))
    return np.unique(np.concatenate(chosen or [np.zeros(0, np.int64)]).astype(np.int64))
