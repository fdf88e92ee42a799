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
from allocator.costs import PairCosts, pair_costs
from allocator.eligibility import Eligibility, Offers, eligibility
from allocator.model import Model, build_model
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


def offer_arrays(inputs: Inputs) -> Offers | None:
    if inputs.offers is None:
        return None
    offers = inputs.offers
    child = _positions(inputs.referrals["child_id"], offers["child_id"])
    unit = _positions(inputs.units["unit_id"], offers["unit_id"])
    order = np.lexsort((unit, child))
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
    elig = eligibility(children, units, inputs.policy, offers)
    seconds["eligibility"] = time.perf_counter() - mark
    mark = time.perf_counter()
    costs = pair_costs(children, units, elig, inputs.policy, offers)
    model = build_model(children, units, elig, costs, inputs.policy, conflicts)
    seconds["build"] = time.perf_counter() - mark
    return Problem(inputs, children, units, offers, conflicts, reasons, elig, costs, model,
                   seconds)
