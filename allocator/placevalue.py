"""What one more place would be worth: the first piece of market intelligence.

For every unit and every fallback, ``place_values.csv`` gives the weekly amount by which the
allocation's objective would fall if that option had one more place, *as the LP relaxation
prices it*: minus the dual of the option's capacity row (its vacancies, or a fallback's
capacity). It is an estimate, and says so:

- it is exact for the relaxation and for a small enough change; one more place can be worth
  less in the integer allocation (a sibling group may need two), and the value of several
  more places is not several times the value of one;
- a unit whose capacity cannot bind (fewer eligible children than places) has no row in the
  model and is worth 0, as is a full unit whose next child would cost no less elsewhere;
- an uncapped fallback has no capacity to add: its value is blank;
- the relaxation is the one the solve ended with, cuts included (``allocator/cuts.py``,
  ``allocator/zerohalf.py``); whatever part of a place's value its cuts carry is not added
  to the capacity row's.

The duals are those of the solve (the exact pipeline's LP); where the model was solved as a
network (no LP), the LP relaxation is solved once for them. The greedy method reports no
values. ``notebooks/03-research.ipynb`` compares the estimate with re-solving with the
extra place.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from allocator.arrays import ROUTES, SETTINGS
from allocator.model import ROW_FALLBACK, ROW_VACANCY
from allocator.problem import Problem
from allocator.solve import Solution

#: What the value column means, for summary.json and the docs.
BASIS = ("LP relaxation dual of the option's capacity row: the fall in the weekly objective "
         "from one more place, an estimate exact only for the relaxation")
#: Seconds allowed for the LP when the solve gave no duals (a network model).
LP_SECONDS = 60.0

COLUMNS = ["option", "kind", "provider_id", "setting", "route", "places", "used",
           "value_of_one_more_place"]


def place_values(problem: Problem, solution: Solution, seed: int,
                 with_values: bool = True) -> pd.DataFrame:
    """One row per unit (file order), then per fallback (policy order)."""
    model, units = problem.model, problem.units
    m, fallbacks = units.m, problem.inputs.policy.fallbacks
    option = model.col_option[solution.columns]
    used = np.bincount(option, weights=model.col_use[solution.columns],
                       minlength=model.unplaced_option + 1).astype(np.int64)
    values = _values(problem, solution, seed) if with_values else None
    unit_rows = pd.DataFrame({
        "option": units.ids.astype(str), "kind": "unit",
        "provider_id": units.provider.astype(str),
        "setting": np.asarray(SETTINGS, dtype=object)[units.setting],
        "route": np.asarray(ROUTES, dtype=object)[units.route],
        "places": units.vacancies.astype(np.int64),
        "used": used[:m],
        "value_of_one_more_place": np.nan if values is None else values[:m]})
    fallback_rows = pd.DataFrame({
        "option": [f.option for f in fallbacks], "kind": "fallback", "provider_id": "",
        "setting": [f.setting.value for f in fallbacks],
        "route": [f.route.value for f in fallbacks],
        "places": pd.array([f.capacity for f in fallbacks], dtype="Int64"),
        "used": used[m:m + len(fallbacks)],
        "value_of_one_more_place": (np.full(len(fallbacks), np.nan) if values is None
                                    else values[m:m + len(fallbacks)])})
    table = pd.concat([unit_rows, fallback_rows], ignore_index=True)
    table["value_of_one_more_place"] = table["value_of_one_more_place"].round(2)
    return table[COLUMNS]


def _values(problem: Problem, solution: Solution, seed: int) -> np.ndarray | None:
    """Pounds a week per option (units, then fallbacks); NaN for an uncapped fallback."""
    model = problem.model
    m, fallbacks = model.n_units, model.n_fallbacks
    out = np.zeros(m + fallbacks)
    out[m:] = [np.nan if f.capacity is None else 0.0 for f in problem.inputs.policy.fallbacks]
    capacity_rows = np.isin(model.row_kind, [ROW_VACANCY, ROW_FALLBACK])
    if not capacity_rows.any():  # no capacity can bind (or nobody to place): all worth 0
        return out
    duals = solution.duals
    if duals is None:
        from allocator.lp import RestrictedLP

        lp = RestrictedLP(model, seed)
        try:
            if not lp.optimise(time.perf_counter() + LP_SECONDS):
                return None
        except RuntimeError:  # pragma: no cover - an LP HiGHS could not solve
            return None
        duals, _ = lp.duals()
    for kind, offset in ((ROW_VACANCY, 0), (ROW_FALLBACK, m)):
        rows = np.flatnonzero(model.row_kind == kind)
        # A <= row's dual is never positive; its negative is what a place saves (pence).
        out[offset + model.row_ref[rows]] = -np.minimum(duals[rows], 0.0) / 100
    return out + 0.0  # no negative zeros in the file


def summarise(table: pd.DataFrame, top: int = 5) -> dict[str, object]:
    """For summary.json: what the figures mean, and the options a place is worth most in."""
    value = table["value_of_one_more_place"]
    if value.isna().all():
        return {"basis": "not computed (the greedy method solves no relaxation)"}
    ranked = table[value > 0].sort_values(["value_of_one_more_place", "option"],
                                          ascending=[False, True], kind="stable")
    return {
        "basis": BASIS,
        "options_worth_more": int((value > 0).sum()),
        "most_valuable": [{"option": str(r.option), "kind": str(r.kind),
                           "value_of_one_more_place": float(r.value_of_one_more_place)}
                          for r in ranked.head(top).itertuples()],
    }
