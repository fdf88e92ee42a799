"""Where to add beds: choose candidate units by sample-average approximation, then check.

1. **Sample demand.** Run the baseline scenario for a few replications and take snapshots
   of the children in care (placed or waiting) at weeks of the horizon: each snapshot is one
   sample of the demand the market has to hold at once.
2. **Choose (SAA).** One MIP over all snapshots, solved with OR-Tools' model builder and the
   HiGHS solver it bundles: a binary ``x_j`` per candidate with ``sum(places_j x_j) = N``;
   per snapshot, an assignment of its children to base units (each child's cheapest
   ``BASE_OPTIONS`` eligible ones), chosen candidates, fallbacks or waiting, with every unit's
   places shared. The objective is the average over snapshots of the weekly £-equivalent
   cost the allocator minimises (price, distance and route weights), a waiting child costing
   an emergency spot purchase. For fixed ``x`` each snapshot is a transportation problem, so
   only the ``x_j`` need branching.
3. **Check on fresh seeds.** Re-simulate the baseline, the choice, ``N`` places of randomly
   drawn candidates and the ``N`` cheapest candidates on a seed the SAA never saw, with
   common random numbers, and report each saving with its 95% interval.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
import scipy.sparse as sp
from pydantic import ValidationError

from allocator.issues import InputError, Issue
from scenarios.config import AddUnits, Scenario, Strict, read_yaml, validation_issues
from scenarios.executors import Executor
from scenarios.market import Market, compile_market
from scenarios.montecarlo import Comparison, RunResult, run_markets
from scenarios.simulate import simulate, starting_placements

#: Each sampled child may use its cheapest this-many base units (plus every candidate).
BASE_OPTIONS = 12


class Candidate(AddUnits):
    """A unit that could be commissioned: an ``add_units`` entry with an id and one unit."""

    type: Literal["add_units"] = "add_units"
    id: str
    count: Literal[1] = 1


class CandidatesFile(Strict):
    candidates: tuple[Candidate, ...]


def load_candidates(path: str | Path) -> tuple[Candidate, ...]:
    """Read a candidates YAML file; bad keys are an :class:`InputError` naming file and key."""
    label = str(path)
    if not Path(path).is_file():
        raise InputError([Issue(label, None, None, "candidates file not found", "scenario")])
    raw = read_yaml(Path(path), label)
    try:
        parsed = CandidatesFile.model_validate(raw)
    except ValidationError as exc:
        raise InputError(validation_issues(exc, label)) from None
    ids = [c.id for c in parsed.candidates]
    if len(set(ids)) != len(ids):
        raise InputError([Issue(label, None, "candidates", "candidate ids must be unique",
                                "scenario")])
    return parsed.candidates


@dataclass
class GrowthPlan:
    """The SAA's choice, the two simple rules it is measured against, and the check."""

    candidates: tuple[Candidate, ...]
    places: int
    picks: dict[str, np.ndarray]  # rule -> bool per candidate: saa, random, cheapest
    saa: dict[str, float]
    evaluation: dict[str, RunResult]  # baseline and each rule, on the fresh seed

    def choice_table(self) -> pd.DataFrame:
        rows = pd.DataFrame([{"id": c.id, "setting": c.setting.value,
                              "place": c.place or c.local_authority, "price": c.price,
                              "places": c.places, "route": c.route.value,
                              "needs": ";".join(n.value for n in c.needs)}
                             for c in self.candidates])
        for rule, picked in self.picks.items():
            rows[rule] = picked
        return rows

    def savings(self) -> pd.DataFrame:
        """Paired savings (baseline - rule, and rule - SAA), mean and 95% interval."""
        base = self.evaluation["baseline"]
        frames = []
        for rule in ("saa", "random", "cheapest"):
            diff = Comparison(self.evaluation[rule], base).differences()
            frames.append(diff.assign(comparison=f"saving of {rule} against baseline"))
        for rule in ("random", "cheapest"):
            diff = Comparison(self.evaluation["saa"], self.evaluation[rule]).differences()
            frames.append(diff.assign(comparison=f"saa better than {rule} by"))
        table = pd.concat(frames).reset_index()
        return table[["comparison", "measure", "a", "b", "difference", "low", "high"]]


def plan_growth(scenario: Scenario, candidates: tuple[Candidate, ...], places: int, *,
                samples: int = 8, replications: int | None = None,
                validation_seed: int | None = None, executor: Executor = "local",
                workers: int | None = None, scheduler: str | None = None) -> GrowthPlan:
    """Choose candidates adding ``places`` places; check the choice on a fresh seed."""
    sizes = np.array([c.places for c in candidates])
    if places < 1 or places > sizes.sum():
        raise InputError([Issue("--places", None, None, f"must be between 1 and the "
                                f"candidates' {int(sizes.sum())} places", "usage")])
    _check_reachable(sizes, places)
    market = compile_market(scenario, candidates)
    saa_pick, stats = choose(market, scenario, sizes, places, samples)
    rng = np.random.default_rng(np.random.SeedSequence(scenario.seed, spawn_key=(2,)))
    picks = {"saa": saa_pick,
             "random": _fill(rng.permutation(len(candidates)), sizes, places),
             "cheapest": _fill(np.lexsort((np.arange(len(candidates)),
                                           [c.price for c in candidates])), sizes, places)}
    fresh = scenario.with_changes(
        seed=scenario.seed + 1 if validation_seed is None else validation_seed,
        replications=replications or scenario.replications)
    variants = [("m", None)] + [("m", picks[k]) for k in ("saa", "random", "cheapest")]
    results = run_markets({"m": market}, variants, fresh, executor=executor, workers=workers,
                          scheduler=scheduler,
                          names=["baseline", "saa", "random", "cheapest"])
    evaluation = dict(zip(["baseline", "saa", "random", "cheapest"], results, strict=True))
    stats["validation_seed"] = fresh.seed
    return GrowthPlan(candidates, places, picks, stats, evaluation)


def _check_reachable(sizes: np.ndarray, places: int) -> None:
    """Refuse a ``--places`` no set of candidates adds exactly (an :class:`InputError`).

    Found in review: ``--places 5`` with candidates of two places each reached the solver,
    which reported INFEASIBLE as an internal fault (exit 1) after the sampling.
    """
    reachable = 1  # bit t set: some set of candidates adds exactly t places
    for size in sizes.tolist():
        reachable |= reachable << size
    if reachable >> places & 1:
        return
    totals = [t for t in range(1, int(sizes.sum()) + 1) if reachable >> t & 1]
    if len(totals) <= 12:
        possible = "the possible totals are " + ", ".join(map(str, totals))
    else:
        below = [t for t in totals if t < places]
        above = [t for t in totals if t > places]
        nearest = [str(t) for t in (below[-1:] + above[:1])]
        possible = "the nearest possible totals are " + " and ".join(nearest)
    raise InputError([Issue("--places", None, None, f"no choice of candidates adds exactly "
                            f"{places} places; {possible}", "usage")])


def _fill(order: np.ndarray, sizes: np.ndarray, places: int) -> np.ndarray:
    """Take candidates in ``order`` while they fit, until ``places`` places are added."""
    picked = np.zeros(len(sizes), dtype=bool)
    room = places
    for j in order:
        if sizes[j] <= room:
            picked[j] = True
            room -= sizes[j]
    return picked


def choose(market: Market, scenario: Scenario, sizes: np.ndarray, places: int,
           samples: int) -> tuple[np.ndarray, dict[str, float]]:
    """The SAA model over demand snapshots of ``samples`` baseline replications."""
    from ortools.linear_solver.python import model_builder as mb

    begun = time.perf_counter()
    horizon = market.weeks - market.warmup
    weeks = (market.warmup + horizon // 2, market.weeks - 1)
    start = starting_placements(market, scenario.seed)
    snaps = [snap for r in range(samples)
             for snap in simulate(market, scenario.seed, r, start=start,
                                  snapshot_at=weeks).snapshots]
    m, J = market.units.m, market.n_candidates
    first_candidate = m - J
    rows_child = 0
    blocks = []
    for s, (t, who, emergency) in enumerate(snaps):
        block = _snapshot_columns(market, t, who, emergency, first_candidate)
        block["row"] += rows_child
        block["snapshot"] = s
        rows_child += len(who)
        blocks.append(block)
    table = pd.concat(blocks, ignore_index=True)
    n_y = len(table)
    S = len(snaps)
    # Variables: y (one per column of the table), then x (one per candidate).
    obj = np.r_[table["cost"].to_numpy(float) / S / 100.0, np.zeros(J)]
    lb = np.zeros(n_y + J)
    ub = np.ones(n_y + J)
    entries: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    lower: list[np.ndarray] = []
    upper: list[np.ndarray] = []
    y = np.arange(n_y)
    entries.append((table["row"].to_numpy(), y, np.ones(n_y)))  # each child once
    lower.append(np.ones(rows_child))
    upper.append(np.ones(rows_child))
    next_row = rows_child
    units = table[table["option"] < m]
    key = units["snapshot"].to_numpy() * m + units["option"].to_numpy()
    shared, row_of = np.unique(key, return_inverse=True)
    unit = shared % m
    entries.append((next_row + row_of, units.index.to_numpy(), np.ones(len(units))))
    is_candidate = unit >= first_candidate
    cap = np.where(is_candidate, 0.0, market.places[unit].astype(float))
    lower.append(np.full(len(shared), -np.inf))
    upper.append(cap)
    cand_rows = np.flatnonzero(is_candidate)  # y - places_j x_j <= 0
    entries.append((next_row + cand_rows, n_y + unit[cand_rows] - first_candidate,
                    -sizes[unit[cand_rows] - first_candidate].astype(float)))
    next_row += len(shared)
    entries.append((np.full(J, next_row), n_y + np.arange(J), sizes.astype(float)))
    lower.append(np.array([float(places)]))
    upper.append(np.array([float(places)]))
    next_row += 1
    r, c, v = (np.concatenate(part) for part in zip(*entries, strict=True))
    matrix = sp.csr_matrix((v, (r, c)), shape=(next_row, n_y + J))
    model = mb.Model()
    model.helper.fill_model_from_sparse_data(lb, ub, obj, np.concatenate(lower),
                                             np.concatenate(upper), matrix)
    for j in range(J):
        model.helper.set_var_integrality(n_y + j, True)
    solver = mb.Solver("highs")
    solver.enable_output(False)
    solver.set_solver_specific_parameters("output_flag=false")  # no banner on stdout
    solver.set_time_limit_in_seconds(120)
    built = time.perf_counter()
    status = solver.solve(model)
    if status not in (mb.SolveStatus.OPTIMAL, mb.SolveStatus.FEASIBLE):
        raise RuntimeError(f"the plan-growth model ended with status {status}")
    values = np.array([solver.value(model.var_from_index(n_y + j)) for j in range(J)])
    stats = {"snapshots": S, "children_sampled": rows_child, "assignment_variables": n_y,
             "candidates": J, "build_seconds": built - begun,
             "solve_seconds": time.perf_counter() - built,
             "objective_weekly": solver.objective_value,
             "bound_weekly": solver.best_objective_bound, "status": str(status)}
    return values > 0.5, stats


def _snapshot_columns(market: Market, t: int, who: np.ndarray, emergency: np.ndarray,
                      first_candidate: int) -> pd.DataFrame:
    """One snapshot's options: cheapest base units, every candidate, fallbacks, waiting."""
    from scenarios.weekly import week_pairs

    e = market.epoch_of(t)
    m = market.units.m
    active = market.active[e].copy()
    active[first_candidate:] = True
    week = week_pairs(market, t, e, who, emergency, active, market.places.copy(),
                      market.units.staff_capacity)
    frame = pd.DataFrame({"row": week.child, "option": week.unit, "cost": week.pence})
    base = frame[frame["option"] < first_candidate].sort_values(["row", "cost", "option"])
    base = base.groupby("row", sort=False).head(BASE_OPTIONS)
    parts = [base, frame[frame["option"] >= first_candidate]]
    fb_ok = market.fb_ok[who]
    for f in range(fb_ok.shape[1]):
        rows = np.flatnonzero(fb_ok[:, f])
        parts.append(pd.DataFrame({"row": rows, "option": m + f,
                                   "cost": market.fb_pence[e, f]}))
    waiting = (market.demand.waiting_cost[market.pool_profile[who]] * 100).astype(np.int64)
    parts.append(pd.DataFrame({"row": np.arange(len(who)), "option": m + fb_ok.shape[1],
                               "cost": waiting}))
    return pd.concat(parts, ignore_index=True)
