"""How many simulated weeks a second: the scenario simulator at Sefton's size.

Runs ``scenarios/examples/sefton-baseline.yaml`` (the 400-unit demo market, demand for a
council of 600 looked-after children: about 4.5 referrals and 1 breakdown a week, with
about 190 children in placements) for ``--replications`` replications of ``--weeks`` weeks
with no warm-up, once per worker count in ``--workers`` (1 runs in this process; more use
spawned local processes), and prints the wall time of each, the speed-up, and how the weeks
were settled (each child's own cheapest option, a dense assignment, or the engine's model
and solver). ``--profile N`` first profiles N replications in this process and prints where
the time goes. Results are identical whatever the worker count (the script checks).

    .venv/bin/python benchmarks/scenario_throughput.py [--replications 1000] [--weeks 52]
        [--workers 1,2] [--profile 20]
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scenarios.config import load_scenario  # noqa: E402
from scenarios.market import compile_market  # noqa: E402
from scenarios.montecarlo import run_markets  # noqa: E402
from scenarios.simulate import simulate, starting_placements  # noqa: E402

GOAL_SECONDS = 60.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replications", type=int, default=1000)
    parser.add_argument("--weeks", type=int, default=52)
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--profile", type=int, default=0, metavar="N")
    args = parser.parse_args()
    scenario = load_scenario(ROOT / "scenarios" / "examples" / "sefton-baseline.yaml")
    scenario = scenario.with_changes(replications=args.replications, warmup_weeks=0,
                                     horizon_weeks=args.weeks)
    started = time.perf_counter()
    market = compile_market(scenario)
    compiled = time.perf_counter() - started
    print(f"compile (validate, pool, eligible pairs, prices): {compiled:.2f} s; "
          f"{market.units.m} units, {market.pool.n} pool children, "
          f"{len(market.pair_unit):,} pool pairs")
    if args.profile:
        _profile(market, scenario.seed, args.profile)
    walls: dict[int, float] = {}
    first = None
    for workers in [int(w) for w in args.workers.split(",")]:
        mark = time.perf_counter()
        (result,) = run_markets({"m": market}, [("m", None)], scenario, workers=workers)
        walls[workers] = time.perf_counter() - mark
        weeks = args.replications * args.weeks
        methods = result.methods.sum(axis=0)
        print(f"{workers} worker(s): {args.replications} replications x {args.weeks} weeks "
              f"= {weeks:,} weekly allocations in {walls[workers]:.1f} s wall "
              f"({walls[workers] / weeks * 1000 * workers:.2f} ms of a core per week); "
              f"weeks settled by own choice {methods[0]:,}, assignment {methods[1]:,}, "
              f"engine {methods[2]:,}")
        if first is None:
            first = result
        elif not np.array_equal(first.weekly, result.weekly):
            raise SystemExit("FAIL: results differ between worker counts")
    if len(walls) > 1:
        base = min(walls)
        for workers, wall in walls.items():
            if workers != base:
                print(f"speed-up {base} -> {workers} workers: {walls[base] / wall:.2f}x")
        print("results identical across worker counts: PASS")
    best = min(walls.values())
    print(f"goal: {args.replications} x {args.weeks} under {GOAL_SECONDS:.0f} s on 2 cores: "
          f"{'PASS' if best < GOAL_SECONDS else 'FAIL'} ({best:.1f} s)")


def _profile(market, seed: int, replications: int) -> None:
    """Where a replication's time goes, by function (cumulative), in this process."""
    start = starting_placements(market, seed)
    profiler = cProfile.Profile()
    mark = time.perf_counter()
    profiler.enable()
    for r in range(replications):
        simulate(market, seed, r, start=start)
    profiler.disable()
    wall = time.perf_counter() - mark
    weeks = replications * (market.weeks - market.warmup)
    print(f"profile: {replications} replications, {wall / weeks * 1000:.2f} ms a week "
          "under the profiler")
    stream = io.StringIO()
    stats = pstats.Stats(profiler, stream=stream).sort_stats("cumulative")
    stats.print_stats(r"scenarios/|allocator/(model|solve)\.py|linear_sum_assignment", 14)
    print("\n".join(line for line in stream.getvalue().splitlines()
                    if line.strip() and not line.startswith(("   Ordered", "   List"))))


if __name__ == "__main__":
    main()
