"""Is the allocator exact on problems someone else solved? Sixty OR-Library GAP instances.

The generalized assignment problem (assign every job to one agent, each agent's resource use
within its capacity, least total cost) is the allocation problem with offers and
``capacity_use`` and nothing else. Beasley's OR-Library instances ``gap1``-``gap12`` (type C,
5-10 agents, 15-60 jobs) have proven optima, so they check the solver against outside
answers, independently of our own checker and brute-force tests. The files are read where
they are shared (``/work/shared/benchmarks/gap/``, see its README); they are data, never copied
into the repository.

The mapping onto the data contract (as that README says): a job is a child, an agent is a unit
whose ``vacancies`` is its capacity, every (job, agent) pair is an offer with ``weekly_price`` =
cost and ``capacity_use`` = resource use. Everything else is made neutral so the allocation's
objective *is* the GAP cost: all children and units at one location in the policy's home
authority, route ``in_house`` (penalty 0), rating ``good`` (weight 0), every weight 0 except
``unplaced``, no fallbacks, and children (age 10, foster) that every unit takes. The script
checks that the mapping adds nothing: every eligible pair's pence must equal its offer price,
and a job may go to exactly the agents whose capacity covers its resource use.

Run on demand (see README.md)::

    .venv/bin/python benchmarks/gap.py [--time-limit 60] [--only c0515_1 ...] [--explain]

Prints one line per instance (time, our objective, the proven optimum, status, gap) and
"N/60 match the proven optimum"; exits 1 if any does not.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from allocator.api import allocate
from allocator.problem import build_problem
from allocator.validate import load_inputs

GAP_DIR = Path("/work/shared/benchmarks/gap")
AS_OF = date(2026, 11, 25)
HOME = "Hometown"
#: Leaving a job unassigned must never pay: GAP costs are below 100 a job.
UNPLACED_POUNDS = 100_000

#: Every term of the objective except the offer price is switched off, and the default
#: fallbacks are removed, so the allocation objective is exactly the GAP objective.
POLICY: dict[str, Any] = {
    "home_authority": HOME,
    "adjoining_authorities": [],
    "weights": {
        "distance_per_mile": 0, "out_of_area": 0, "at_distance": 0, "school_move_ks4": 0,
        "quality": {"outstanding": 0, "good": 0, "requires_improvement": 0,
                    "not_yet_inspected": 0, "inadequate": 0},
        "route": {"in_house": 0, "pdps": 0, "lcr": 0, "regional": 0, "spot": 0},
        "offer_quality_point": 0, "sibling_split": 0, "unplaced": UNPLACED_POUNDS,
    },
    "therapy_addon": 0,
    "fallbacks": [],
}


@dataclass(frozen=True)
class GapInstance:
    """One instance as matrices: ``cost[i, j]`` and ``use[i, j]`` of agent ``i`` doing job ``j``."""

    name: str
    cost: np.ndarray
    use: np.ndarray
    capacity: np.ndarray


def read_gap(path: Path) -> GapInstance:
    """Parse the OR-Library layout: ``m n``, then cost (m x n), use (m x n), capacities (m)."""
    numbers = np.array(path.read_text().split(), dtype=np.int64)
    m, n = int(numbers[0]), int(numbers[1])
    body = numbers[2:]
    if len(body) != 2 * m * n + m:
        raise ValueError(f"{path}: expected {2 * m * n + m} numbers after 'm n', got {len(body)}")
    cost = body[:m * n].reshape(m, n)
    use = body[m * n:2 * m * n].reshape(m, n)
    return GapInstance(path.name, cost, use, body[2 * m * n:])


def contract_tables(gap: GapInstance) -> dict[str, pd.DataFrame]:
    """The instance as the contract's referrals, units and offers DataFrames."""
    m, n = gap.cost.shape
    jobs = [f"J{j:02d}" for j in range(n)]
    agents = [f"A{i:02d}" for i in range(m)]
    referrals = pd.DataFrame({
        "child_id": jobs, "date_of_birth": "2016-01-01", "sex": "M", "settings": "foster",
        "home_lat": 53.5, "home_lon": -3.0, "urgency": "planned",
    })
    units = pd.DataFrame({
        "unit_id": agents, "provider_id": "P0", "provider_name": "Agents",
        "setting": "foster", "route": "in_house", "local_authority": HOME,
        "lat": 53.5, "lon": -3.0, "ofsted_rating": "good", "age_min": 0, "age_max": 17,
        "sexes": "any", "vacancies": gap.capacity, "weekly_price": 0,
    })
    agent, job = np.meshgrid(np.arange(m), np.arange(n), indexing="ij")
    offers = pd.DataFrame({
        "child_id": np.asarray(jobs)[job.ravel()], "unit_id": np.asarray(agents)[agent.ravel()],
        "weekly_price": gap.cost.ravel(), "capacity_use": gap.use.ravel(),
    })
    return {"referrals": referrals, "units": units, "offers": offers}


def check_mapping(gap: GapInstance, tables: dict[str, pd.DataFrame]) -> None:
    """Fail loudly if the contract adds any cost or rule the GAP does not have.

    Every eligible pair must cost exactly its offer price (no distance, out-of-area, route,
    quality or add-on term), and the eligible pairs must be exactly the (job, agent) pairs
    whose resource use fits the agent's capacity.
    """
    inputs = load_inputs(tables["referrals"], tables["units"], offers=tables["offers"],
                         policy=POLICY, as_of=AS_OF)
    problem = build_problem(inputs)
    elig = problem.elig
    expected = gap.capacity[None, :] >= gap.use.T  # (jobs, agents)
    got = np.zeros_like(expected)
    got[elig.child, elig.unit] = True
    if not np.array_equal(got, expected):
        raise AssertionError(f"{gap.name}: eligible pairs differ from the GAP's feasible pairs")
    if not np.array_equal(problem.costs.pence, 100 * gap.cost.T[elig.child, elig.unit]):
        raise AssertionError(f"{gap.name}: a pair costs more than its offer price")
    if problem.model.n_fallbacks or len(problem.model.split_group):
        raise AssertionError(f"{gap.name}: fallbacks or split groups in the model")


def read_optima(path: Path) -> dict[str, tuple[int, int]]:
    """Known lower and upper bounds by instance (equal: proven optima of the min version)."""
    table = pd.read_csv(path, sep="\t")
    return {r.instance: (int(r.lower_bound), int(r.upper_bound)) for r in table.itertuples()}


def run_one(gap: GapInstance, time_limit_s: float, explain: bool) -> dict[str, Any]:
    """Allocate one instance through the public API; return what the summary says."""
    tables = contract_tables(gap)
    check_mapping(gap, tables)
    start = time.perf_counter()
    result = allocate(tables["referrals"], tables["units"], offers=tables["offers"],
                      policy=POLICY, as_of=AS_OF, time_limit_s=time_limit_s, explain=explain)
    seconds = time.perf_counter() - start
    summary = result.summary
    return {"instance": gap.name, "seconds": seconds, "solve_seconds": summary["solve_seconds"],
            "objective": summary["objective"], "bound": summary["bound"],
            "status": summary["status"], "method": summary["method"],
            "unplaced": summary["unplaced"]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=GAP_DIR,
                        help="folder with the instances and optimal-min.tsv")
    parser.add_argument("--time-limit", type=float, default=60.0,
                        help="seconds per instance (default 60)")
    parser.add_argument("--only", nargs="*", default=None, help="instance names to run")
    parser.add_argument("--explain", action="store_true",
                        help="also compute runner-ups and explanations (slower)")
    args = parser.parse_args(argv)

    from instances import engine_commit

    optima = read_optima(args.data / "optimal-min.tsv")
    print(f"engine commit {engine_commit()}; time limit {args.time_limit:g} s per instance")
    names = args.only or sorted(optima)
    run_one(read_gap(args.data / names[0]), args.time_limit, False)  # warm-up: imports
    print(f"{'instance':10} {'seconds':>8} {'solve s':>8} {'ours':>6} {'optimum':>7} "
          f"{'status':>8} {'method':>12}  verdict")
    rows = []
    for name in names:
        row = run_one(read_gap(args.data / name), args.time_limit, args.explain)
        low, high = optima[name]
        row["optimum"] = high
        row["match"] = low == high and round(row["objective"] * 100) == high * 100
        row["gap_pounds"] = round(row["objective"] - row["bound"], 2)
        verdict = "match" if row["match"] else (
            f"DIFFERENT by {row['objective'] - high:g}, our gap {row['gap_pounds']:g}")
        print(f"{name:10} {row['seconds']:8.2f} {row['solve_seconds']:8.2f} "
              f"{row['objective']:6g} {high:7d} {row['status']:>8} {row['method']:>12}  "
              f"{verdict}", flush=True)
        rows.append(row)
    matched = sum(r["match"] for r in rows)
    proven = sum(r["status"] == "optimal" for r in rows)
    times = sorted(r["seconds"] for r in rows)
    print(f"\n{matched}/{len(rows)} match the proven optimum; {proven}/{len(rows)} proven "
          f"optimal by us within {args.time_limit:g} s each")
    print(f"seconds per instance (allocate, read -> explain{'' if args.explain else ' off'}): "
          f"min {times[0]:.2f}, median {statistics.median(times):.2f}, "
          f"90th percentile {float(np.percentile(times, 90)):.2f}, max {times[-1]:.2f}, "
          f"total {sum(times):.1f}")
    misses = [r for r in rows if not r["match"]]
    if misses:
        print("not matched: " + ", ".join(f"{r['instance']} (ours {r['objective']:g}, optimum "
                                          f"{r['optimum']}, status {r['status']}, gap "
                                          f"£{r['gap_pounds']:g})" for r in misses))
    return 0 if not misses else 1


if __name__ == "__main__":
    sys.exit(main())
