"""How fast is exact allocation at regional and national scale, against what?

On one generated instance (``instances.py``: ``regional`` 1,000 x 2,000, ``national``
5,000 x 50,000 or ``small`` 150 x 300, from a seed, written as contract files to a temporary
folder) this times each method in its own child process, so that its peak resident memory
(``VmHWM``, read inside the child) is its own:

``ours``
    :func:`allocator.api.allocate` + ``result.write``: read -> validate -> eligibility ->
    build -> solve -> explain -> write, with the summary's per-stage seconds. Python start-up
    and imports are measured apart (a bare interpreter, and ``import allocator.api`` plus the
    modules the pipeline imports lazily, in a fresh process), since ``pdps allocate`` pays
    them once per run.
``ours, explain off``
    the same with ``explain=False``: no runner-ups, so the solve path alone is visible.
``mcf floor``
    OR-Tools ``SimpleMinCostFlow`` on the capacity relaxation (children -> eligible units,
    fallbacks or unplaced; vacancies as capacities; sibling groups, conflicts, staff and
    admission limits dropped; ``capacity_use`` taken as 1). Only its solve is the floor; the
    graph build is shown apart. Its optimum is a lower bound on the allocation's, nothing more.
``naive CP-SAT``
    ``naive_cpsat.py``: the plain exact model, build and solve timed apart.
``greedy``
    ``allocate(method="greedy", explain=False)`` + write: today's practice, end to end.

It prints one table (objective, proven bound, gap, status, seconds, peak MiB), the ratios
*ours end-to-end / MCF floor* and *naive CP-SAT / ours*, and the check "objectives equal
wherever the naive model proves optimality" (PASS/FAIL). Timings on a shared machine drift,
which is why every ratio is against a baseline measured in this same run. Nothing is written
into the repository. Run on demand (see README.md)::

    .venv/bin/python benchmarks/scale.py --instance regional --seed 1 [--time-limit 120]
        [--gap 0.001]
        [--skip naive] [--json OUT.json]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from instances import INSTANCES, engine_commit, make, write_instance

METHODS = ("ours", "ours_no_explain", "mcf", "naive", "greedy")
LABELS = {"ours": "ours (end to end)", "ours_no_explain": "ours, explain off",
          "mcf": "MCF floor (relaxation)", "naive": "naive CP-SAT", "greedy": "greedy"}
#: Modules ``allocate`` imports on first use; imported before timing a run, timed apart.
LAZY_MODULES = ("allocator.problem", "allocator.solve", "allocator.exact", "allocator.lp",
                "allocator.explain", "allocator.nextbest", "allocator.summary",
                "allocator.manifest", "allocator.write", "allocator.workbook", "highspy",
                "scipy.sparse.csgraph", "xlsxwriter", "python_calamine",
                "ortools.graph.python.min_cost_flow")


# ----------------------------------------------------------------------------- child side

def peak_mib() -> float:
    """This process's peak resident set (``VmHWM``), in MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    import resource  # pragma: no cover - not Linux

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _paths(folder: Path) -> dict[str, Path]:
    return {"referrals": folder / "input" / "referrals.csv",
            "units": folder / "input" / "units.csv",
            "conflicts": folder / "input" / "conflicts.csv", "policy": folder / "policy.yaml"}


def _prepare(paths: dict[str, Path], as_of: str) -> tuple[Any, dict[str, float]]:
    """Read, validate and build the engine's problem (eligible pairs, pence costs)."""
    from allocator.problem import build_problem
    from allocator.validate import load_inputs

    start = time.perf_counter()
    inputs = load_inputs(paths["referrals"], paths["units"], conflicts=paths["conflicts"],
                         policy=paths["policy"], as_of=as_of)
    read = time.perf_counter() - start
    problem = build_problem(inputs)
    return problem, {"read": read, **problem.seconds}


def work_import() -> dict[str, Any]:
    """Import cost in a fresh interpreter: the API module, then what the pipeline pulls in.

    Measured in its own ``python -c`` process: this script's own imports (the instance
    generator pulls in pandas and numpy) would otherwise make the figures look free.
    """
    code = ("import importlib, json, time\n"
            "start = time.perf_counter()\n"
            "importlib.import_module('allocator.api')\n"
            "api = time.perf_counter() - start\n"
            f"for name in {list(LAZY_MODULES)!r}:\n"
            "    importlib.import_module(name)\n"
            "print(json.dumps({'import_api': api, 'import_all': time.perf_counter() - start}))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    return json.loads(done.stdout)


def work_ours(paths: dict[str, Path], as_of: str, args: argparse.Namespace,
              explain: bool, method: str = "optimal") -> dict[str, Any]:
    """``allocate`` + ``write`` from the files, read -> write, imports done beforehand."""
    import importlib

    from allocator.api import allocate

    for name in LAZY_MODULES:
        importlib.import_module(name)
    out = paths["policy"].parent / f"out-{method}-{int(explain)}"
    start = time.perf_counter()
    result = allocate(paths["referrals"], paths["units"], conflicts=paths["conflicts"],
                      policy=paths["policy"], as_of=as_of, method=method,  # type: ignore[arg-type]
                      time_limit_s=args.time_limit, seed=args.seed, explain=explain,
                      gap=args.gap)
    mark = time.perf_counter()
    result.write(out)
    end = time.perf_counter()
    summary = result.summary
    return {"seconds": end - start, "stages": {**summary["seconds"], "write": end - mark},
            "status": summary["status"], "method": summary["method"],
            "objective": round(summary["objective"] * 100),
            "bound": round(summary["bound"] * 100) if method == "optimal" else None,
            "unplaced": summary["unplaced"], "split": len(summary["sibling_groups_split"])}


def work_mcf(paths: dict[str, Path], as_of: str) -> dict[str, Any]:
    """Min-cost flow on the capacity relaxation; graph build and solve timed apart."""
    from ortools.graph.python import min_cost_flow

    from allocator.costs import fallback_pence, unplaced_pence

    problem, prep = _prepare(paths, as_of)
    elig, policy = problem.elig, problem.inputs.policy
    n, m, F = problem.children.n, problem.units.m, len(policy.fallbacks)
    start = time.perf_counter()
    sink = n + m + F
    fb_child, fb_index = np.nonzero(elig.fallback)
    fb_room = np.array([n if f.capacity is None else f.capacity for f in policy.fallbacks],
                       dtype=np.int64)
    tails = np.concatenate([elig.child, fb_child, np.arange(n), n + np.arange(m + F)])
    heads = np.concatenate([n + elig.unit, n + m + fb_index, np.full(n, sink),
                            np.full(m + F, sink)])
    capacity = np.concatenate([np.ones(elig.pairs + len(fb_child) + n, np.int64),
                               problem.units.vacancies.astype(np.int64), fb_room])
    cost = np.concatenate([problem.costs.pence, fallback_pence(policy)[fb_index],
                           np.full(n, unplaced_pence(policy)), np.zeros(m + F, np.int64)])
    flow = min_cost_flow.SimpleMinCostFlow()
    flow.add_arcs_with_capacity_and_unit_cost(tails.astype(np.int64), heads.astype(np.int64),
                                              capacity, cost.astype(np.int64))
    flow.set_nodes_supplies(np.array([*range(n), sink], dtype=np.int64),
                            np.array([1] * n + [-n], dtype=np.int64))
    graph = time.perf_counter() - start
    start = time.perf_counter()
    status = flow.solve()
    solve = time.perf_counter() - start
    if status != flow.OPTIMAL:
        raise RuntimeError(f"min-cost flow ended with status {status}")
    return {"seconds": solve, "stages": {**prep, "graph": graph, "solve": solve},
            "status": "relaxation", "objective": None, "bound": int(flow.optimal_cost()),
            "pairs": elig.pairs, "arcs": len(tails)}


def work_naive(paths: dict[str, Path], as_of: str, args: argparse.Namespace) -> dict[str, Any]:
    """The plain CP-SAT model of ``naive_cpsat.py``, build and solve timed apart."""
    from naive_cpsat import build_naive, solve_naive

    problem, prep = _prepare(paths, as_of)
    result = solve_naive(build_naive(problem), args.time_limit, args.workers, args.seed)
    return {"seconds": result.build_seconds + result.solve_seconds,
            "stages": {**prep, "build_cpsat": result.build_seconds,
                       "solve_cpsat": result.solve_seconds},
            "status": result.status, "objective": result.objective, "bound": result.bound,
            "variables": result.variables, "constraints": result.constraints,
            "workers": result.workers, "pairs": problem.elig.pairs}


def child_main(args: argparse.Namespace) -> int:
    """Run one method and write its figures (and this process's peak memory) as JSON."""
    paths = _paths(Path(args.folder))
    as_of = args.as_of
    if args.worker == "import":
        figures = work_import()
    elif args.worker == "ours":
        figures = work_ours(paths, as_of, args, explain=True)
    elif args.worker == "ours_no_explain":
        figures = work_ours(paths, as_of, args, explain=False)
    elif args.worker == "greedy":
        figures = work_ours(paths, as_of, args, explain=False, method="greedy")
    elif args.worker == "mcf":
        figures = work_mcf(paths, as_of)
    else:
        figures = work_naive(paths, as_of, args)
    figures["peak_mib"] = peak_mib()
    Path(args.result).write_text(json.dumps(figures), encoding="utf-8")
    return 0


# ---------------------------------------------------------------------------- parent side

def run_child(worker: str, folder: Path, args: argparse.Namespace, as_of: str) -> dict[str, Any]:
    """One method in a fresh interpreter; its figures, or the error it died of."""
    result = folder / f"{worker}.json"
    command = [sys.executable, __file__, "--worker", worker, "--folder", str(folder),
               "--as-of", as_of, "--seed", str(args.seed), "--time-limit", str(args.time_limit),
               "--gap", str(args.gap), "--workers", str(args.workers), "--result", str(result)]
    start = time.perf_counter()
    try:
        done = subprocess.run(command, capture_output=True, text=True, check=False,
                              timeout=args.child_timeout)
    except subprocess.TimeoutExpired:
        wall = time.perf_counter() - start
        print(f"  {worker}: stopped after {wall:.0f} s (--child-timeout)", flush=True)
        return {"error": f"stopped after {wall:.0f} s (--child-timeout)", "process_wall": wall}
    wall = time.perf_counter() - start
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        print(f"  {worker}: FAILED (exit {done.returncode}): {' | '.join(tail)}", flush=True)
        return {"error": f"exit {done.returncode}: {' | '.join(tail)}", "process_wall": wall}
    figures = json.loads(result.read_text(encoding="utf-8"))
    figures["process_wall"] = wall
    return figures


def startup_seconds(repeat: int = 3) -> float:
    """A bare interpreter's start-up and exit (best of ``repeat``)."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        best = min(best, time.perf_counter() - start)
    return best


def _money(pence: int | None) -> str:
    return "-" if pence is None else f"£{pence / 100:,.2f}"


def _gap(objective: int | None, bound: int | None) -> str:
    if objective is None or bound is None:
        return "-"
    return f"£{(objective - bound) / 100:,.2f} ({max(objective - bound, 0) / objective:.3%})"


def report(figures: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    """Print the table, the ratios and the check; return them for ``--json``."""
    methods = figures["methods"]
    print(f"\n{'method':26} {'objective':>15} {'proven bound':>15} {'gap':>22} "
          f"{'status':>11} {'seconds':>8} {'peak MiB':>9}")
    for name, row in methods.items():
        if "error" in row:
            print(f"{LABELS[name]:26} {'FAILED: ' + row['error'][:80]}")
            continue
        print(f"{LABELS[name]:26} {_money(row['objective']):>15} {_money(row['bound']):>15} "
              f"{_gap(row['objective'], row['bound']):>22} {row['status']:>11} "
              f"{row['seconds']:8.2f} {row['peak_mib']:9.0f}")
    for name, row in methods.items():
        if "stages" in row:
            stages = ", ".join(f"{k} {v:.2f}" for k, v in row["stages"].items()
                               if k not in ("lp_columns", "cuts", "mip_columns"))
            print(f"  {LABELS[name]} stages (s): {stages}")
    start = figures["startup"]
    print(f"  python start-up {start['python']:.2f} s; import allocator.api "
          f"{start['import_api']:.2f} s, with the pipeline's lazy imports "
          f"{start['import_all']:.2f} s (paid once by `pdps allocate`, not in the rows above)")

    ratios: dict[str, float] = {}
    ours, mcf = methods.get("ours", {}), methods.get("mcf", {})
    solo, naive = methods.get("ours_no_explain", {}), methods.get("naive", {})
    ok = {k for k, v in methods.items() if "error" not in v}
    print()
    if "ours" in ok and "mcf" in ok:
        ratios["ours_end_to_end_over_mcf_solve"] = ours["seconds"] / mcf["seconds"]
        ratios["ours_solve_over_mcf_solve"] = ours["stages"]["solve"] / mcf["seconds"]
        ratios["ours_solve_over_mcf_graph_and_solve"] = ours["stages"]["solve"] / (
            mcf["stages"]["graph"] + mcf["seconds"])
        print(f"ours end to end / MCF floor solve: {ratios['ours_end_to_end_over_mcf_solve']:.1f}"
              f" x; ours solve stage / MCF solve: {ratios['ours_solve_over_mcf_solve']:.1f} x "
              f"(/ MCF graph + solve: {ratios['ours_solve_over_mcf_graph_and_solve']:.1f} x)")
    if "ours_no_explain" in ok and "mcf" in ok:
        ratios["ours_no_explain_over_mcf_solve"] = solo["seconds"] / mcf["seconds"]
        print(f"ours with explain off, end to end / MCF floor solve: "
              f"{ratios['ours_no_explain_over_mcf_solve']:.1f} x")
    if "naive" in ok:
        at_least = "" if naive["status"] == "OPTIMAL" else ">= "
        limit = "" if not at_least else f" (naive stopped at the {args.time_limit:g} s limit)"
        for key, label in (("ours", "ours end to end"), ("ours_no_explain", "ours explain off")):
            if key not in ok:
                continue
            row = methods[key]
            ratios[f"naive_over_{key}"] = naive["seconds"] / row["seconds"]
            ratios[f"naive_solve_over_{key}_solve"] = (naive["stages"]["solve_cpsat"]
                                                       / row["stages"]["solve"])
            print(f"naive CP-SAT (build + solve) / {label}: {at_least}"
                  f"{ratios[f'naive_over_{key}']:.1f} x; naive solve / its solve stage: "
                  f"{at_least}{ratios[f'naive_solve_over_{key}_solve']:.1f} x{limit}")
    checks = consistency(methods)
    for line in checks["lines"]:
        print(line)
    return {"ratios": ratios, "checks": checks}


def consistency(methods: dict[str, Any]) -> dict[str, Any]:
    """Objectives equal wherever the naive model proves optimality; every bound below every
    objective (each method's bound is valid for the same problem, so any crossing is a bug)."""
    ok = {k: v for k, v in methods.items() if "error" not in v}
    lines: list[str] = []
    verdict = "n/a"
    naive = ok.get("naive")
    ours_rows = {k: v for k, v in ok.items() if k.startswith("ours")}
    if ours_rows and naive:
        if naive["status"] == "OPTIMAL":
            same = all(v["objective"] == naive["objective"] for v in ours_rows.values())
            verdict = "PASS" if same else "FAIL"
            ours_text = ", ".join(f"{LABELS[k]} {_money(v['objective'])}"
                                  for k, v in ours_rows.items())
            lines.append(f"objectives equal wherever the naive model proves optimality: {verdict}"
                         f" (naive {_money(naive['objective'])}; {ours_text})")
        else:
            lines.append("objectives equal wherever the naive model proves optimality: n/a "
                         f"(naive ended {naive['status']}, not proven optimal)")
    objectives = {k: v["objective"] for k, v in ok.items() if v.get("objective") is not None}
    bounds = {k: v["bound"] for k, v in ok.items() if v.get("bound") is not None}
    crossings = [f"{b} bound {_money(bounds[b])} > {o} objective {_money(objectives[o])}"
                 for b in bounds for o in objectives if bounds[b] > objectives[o]]
    bounds_ok = "PASS" if not crossings else "FAIL"
    lines.append(f"every proven bound <= every objective: {bounds_ok}"
                 + ("" if not crossings else " (" + "; ".join(crossings) + ")"))
    return {"objectives_equal": verdict, "bounds_below_objectives": bounds_ok, "lines": lines}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instance", choices=INSTANCES, default="regional")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--time-limit", type=float, default=120.0,
                        help="seconds for our solver and for naive CP-SAT (default 120)")
    parser.add_argument("--gap", type=float, default=0.0,
                        help="relative gap our solver may stop at (default 0: prove optimal)")
    parser.add_argument("--skip", nargs="*", default=[], choices=METHODS,
                        help="methods to leave out, e.g. --skip naive")
    parser.add_argument("--workers", type=int, default=1, help="CP-SAT num_workers (default 1)")
    parser.add_argument("--child-timeout", type=float, default=None,
                        help="stop a method's process after this many seconds and report it "
                        "as stopped (default: no limit)")
    parser.add_argument("--json", type=Path, default=None, help="save the figures here")
    parser.add_argument("--worker", choices=("import", *METHODS), help=argparse.SUPPRESS)
    parser.add_argument("--folder", help=argparse.SUPPRESS)
    parser.add_argument("--as-of", help=argparse.SUPPRESS)
    parser.add_argument("--result", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        return child_main(args)

    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="pdps-scale-") as tmp:
        folder = Path(tmp)
        start = time.perf_counter()
        instance = make(args.instance, args.seed)
        write_instance(instance, folder)
        as_of = instance.as_of.isoformat()
        print(f"{instance.summary()}; written in {time.perf_counter() - start:.1f} s")
        commit = engine_commit()
        print(f"engine commit {commit}; time limit {args.time_limit:g} s; gap {args.gap:g}; "
              f"CP-SAT num_workers {args.workers}; "
              f"{os.cpu_count()} CPUs, load average {load_before[0]:.2f} before the run")
        startup = {"python": startup_seconds(), **run_child("import", folder, args, as_of)}
        methods: dict[str, Any] = {}
        for name in METHODS:
            if name in args.skip:
                continue
            print(f"running {LABELS[name]} ...", flush=True)
            methods[name] = run_child(name, folder, args, as_of)
    pairs = next((m["pairs"] for m in methods.values() if "pairs" in m), None)
    if pairs is not None:
        print(f"{pairs:,} eligible (child, unit) pairs")
    figures: dict[str, Any] = {"instance": args.instance, "seed": args.seed, "commit": commit,
                               "summary": instance.summary(), "pairs": pairs,
                               "time_limit_s": args.time_limit, "gap": args.gap,
                               "cpsat_workers": args.workers, "cpus": os.cpu_count(),
                               "startup": startup, "methods": methods}
    figures.update(report(figures, args))
    load_after = os.getloadavg()
    figures["load_average"] = {"before": load_before[0], "after": load_after[0]}
    print(f"load average {load_after[0]:.2f} after the run")
    if args.json:
        figures["checks"].pop("lines")
        args.json.write_text(json.dumps(figures, indent=2, default=float), encoding="utf-8")
        print(f"figures saved to {args.json}")
    failed = "FAIL" in (figures["checks"]["objectives_equal"],
                        figures["checks"]["bounds_below_objectives"])
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
