"""The baseline the exact allocator has to beat: the plain CP-SAT model anyone would write first.

``solver-notes.md`` measured it at 5 s to build and 100-215 s (sometimes over 400 s) to prove
optimality on 1,000 x 2,000 instances. It is rebuilt here so that the claim "ours is N times
faster" is measured on the same instance, in the same run, on the same machine, rather than
quoted. It is deliberately the simple formulation, built the simple way:

* one Boolean ``x[c, o]`` per eligible (child, option): every eligible unit, every fallback the
  child may take, and "unplaced"; exactly one per child;
* a kept-together sibling group as linked pair variables: ``x[a, o] == x[b, o]`` for the first
  member ``a``, every other member ``b`` and every option either has (``== 0`` where only one
  has it), not one choice per option for the whole group;
* a group that may be split: a penalty Boolean ``s >= x[a, o] - x[b, o]`` for the same pairs,
  paying ``sibling_split``;
* each conflict pair, pair by pair: ``x[a, u] + x[b, u] <= 1`` for every unit both may take;
* one linear row per unit for vacancies (``capacity_use``), staff capacity and
  ``max_new_admissions``, and per capped fallback;
* the objective in integer pence, from the engine's own eligible pairs and costs
  (:func:`allocator.problem.build_problem`), so both objectives are directly comparable.

Everything is built in a Python loop over pairs. CP-SAT runs with ``num_workers`` 1 by
default (the notes' baseline; with two cores the portfolio is at its weakest anyway),
``relative_gap_limit`` 0 and a time limit (default 120 s). Run on its own::

    .venv/bin/python benchmarks/naive_cpsat.py --instance regional --seed 1 [--time-limit 120]
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ortools.sat.python import cp_model

from allocator.costs import fallback_pence, unplaced_pence
from allocator.problem import Problem


@dataclass(frozen=True)
class NaiveModel:
    """The CP-SAT model with the variables needed to read a solution back."""

    model: cp_model.CpModel
    choice: list[dict[int, cp_model.IntVar]]  # per child: option -> Boolean
    split: list[cp_model.IntVar]
    variables: int
    constraints: int
    build_seconds: float


@dataclass(frozen=True)
class NaiveResult:
    """What CP-SAT proved. Money in pence; ``objective`` is None when no solution was found."""

    status: str
    objective: int | None
    bound: int
    gap: float | None
    build_seconds: float
    solve_seconds: float
    variables: int
    constraints: int
    workers: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def build_naive(problem: Problem) -> NaiveModel:
    """The plain model of ``problem``'s eligible pairs and pence costs, built pair by pair."""
    start = time.perf_counter()
    elig, model_arrays = problem.elig, problem.model
    children, units, policy = problem.children, problem.units, problem.inputs.policy
    n, m, F = children.n, units.m, len(policy.fallbacks)
    unplaced = m + F
    fb_cost = fallback_pence(policy)
    each_unplaced = unplaced_pence(policy)
    model = cp_model.CpModel()
    choice: list[dict[int, cp_model.IntVar]] = [{} for _ in range(n)]
    cost_vars: list[cp_model.IntVar] = []
    cost_coeffs: list[int] = []
    vacancy_terms: dict[int, list[tuple[int, cp_model.IntVar]]] = defaultdict(list)
    staff_terms: dict[int, list[tuple[int, cp_model.IntVar]]] = defaultdict(list)
    head_terms: dict[int, list[cp_model.IntVar]] = defaultdict(list)
    fallback_terms: dict[int, list[cp_model.IntVar]] = defaultdict(list)
    pair_child = elig.child.tolist()
    pair_unit = elig.unit.tolist()
    pair_use = elig.use.tolist()
    pair_cost = problem.costs.pence.tolist()
    staff = children.staff.tolist()
    for p in range(elig.pairs):
        c, u = pair_child[p], pair_unit[p]
        x = model.new_bool_var(f"x[{c},{u}]")
        choice[c][u] = x
        cost_vars.append(x)
        cost_coeffs.append(pair_cost[p])
        vacancy_terms[u].append((pair_use[p], x))
        if staff[c]:
            staff_terms[u].append((staff[c], x))
        head_terms[u].append(x)
    for c in range(n):
        for f in range(F):
            if elig.fallback[c, f]:
                x = model.new_bool_var(f"x[{c},fallback{f}]")
                choice[c][m + f] = x
                cost_vars.append(x)
                cost_coeffs.append(int(fb_cost[f]))
                fallback_terms[f].append(x)
        x = model.new_bool_var(f"x[{c},unplaced]")
        choice[c][unplaced] = x
        cost_vars.append(x)
        cost_coeffs.append(each_unplaced)
        model.add_exactly_one(choice[c].values())
    for u, terms in vacancy_terms.items():
        model.add(sum(use * x for use, x in terms) <= int(units.vacancies[u]))
    for u, terms in staff_terms.items():
        model.add(sum(level * x for level, x in terms) <= int(units.staff_capacity[u]))
    for u, xs in head_terms.items():
        if units.max_new[u] >= 0:
            model.add(sum(xs) <= int(units.max_new[u]))
    for f, xs in fallback_terms.items():
        if policy.fallbacks[f].capacity is not None:
            model.add(sum(xs) <= policy.fallbacks[f].capacity)
    split = _sibling_rows(model, problem, choice)
    split_pence = int(model_arrays.split_cost[0]) if len(model_arrays.split_cost) else 0
    cost_vars.extend(split)
    cost_coeffs.extend([split_pence] * len(split))
    for a, b in problem.conflicts.tolist():
        for u in choice[a].keys() & choice[b].keys():
            if u < m:
                model.add(choice[a][u] + choice[b][u] <= 1)
    model.minimize(cp_model.LinearExpr.weighted_sum(cost_vars, cost_coeffs))
    proto = model.proto
    return NaiveModel(model, choice, split, len(proto.variables), len(proto.constraints),
                      time.perf_counter() - start)


def _sibling_rows(model: cp_model.CpModel, problem: Problem,
                  choice: list[dict[int, cp_model.IntVar]]) -> list[cp_model.IntVar]:
    """Link each member of a group to its first member, option by option.

    A kept-together group: ``x[a, o] == x[b, o]``. A group that may be split: a penalty
    Boolean ``s`` with ``s >= x[a, o] - x[b, o]``, so ``s`` is 0 only when every member takes
    ``a``'s option. Returns the penalty Booleans.
    """
    children = problem.children
    members: dict[int, list[int]] = defaultdict(list)
    for c, g in enumerate(children.group.tolist()):
        if g >= 0:
            members[g].append(c)
    split: list[cp_model.IntVar] = []
    for g, who in sorted(members.items()):
        if len(who) < 2:
            continue
        keep = bool(children.keep_group[g])
        s = None if keep else model.new_bool_var(f"split[{g}]")
        first = who[0]
        for b in who[1:]:
            for o in choice[first].keys() | choice[b].keys():
                xa, xb = choice[first].get(o), choice[b].get(o)
                if keep:
                    if xa is not None and xb is not None:
                        model.add(xa == xb)
                    else:
                        model.add((xa if xa is not None else xb) == 0)
                elif xa is not None:
                    model.add(s >= xa - xb if xb is not None else s >= xa)
        if s is not None:
            split.append(s)
    return split


def solve_naive(naive: NaiveModel, time_limit_s: float = 120.0, workers: int = 1,
                seed: int = 0) -> NaiveResult:
    """Solve to a zero relative gap or the time limit; report objective, bound and status."""
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = time_limit_s
    solver.parameters.num_workers = workers
    solver.parameters.relative_gap_limit = 0.0
    solver.parameters.random_seed = seed
    start = time.perf_counter()
    status = solver.solve(naive.model)
    seconds = time.perf_counter() - start
    name = solver.status_name(status)
    found = status in (cp_model.OPTIMAL, cp_model.FEASIBLE)
    objective = round(solver.objective_value) if found else None
    bound = math.ceil(solver.best_objective_bound - 1e-6)
    gap = None if objective is None else (max(0.0, (objective - bound) / objective)
                                          if objective > 0 else 0.0)
    return NaiveResult(name, objective, bound, gap, naive.build_seconds, seconds,
                       naive.variables, naive.constraints, workers)


def main(argv: list[str] | None = None) -> int:
    from instances import INSTANCES, make, write_instance

    from allocator.problem import build_problem
    from allocator.validate import load_inputs

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instance", choices=INSTANCES, default="regional")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--time-limit", type=float, default=120.0)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="pdps-naive-") as folder:
        instance = make(args.instance, args.seed)
        paths = write_instance(instance, Path(folder))
        inputs = load_inputs(paths["referrals"], paths["units"], conflicts=paths["conflicts"],
                             policy=paths["policy"], as_of=instance.as_of)
    problem = build_problem(inputs)
    print(instance.summary(), f"{problem.elig.pairs:,} eligible pairs", sep="; ")
    result = solve_naive(build_naive(problem), args.time_limit, args.workers, args.seed)
    objective = "-" if result.objective is None else f"£{result.objective / 100:,.2f}"
    gap = "-" if result.gap is None else f"{result.gap:.3%}"
    print(f"naive CP-SAT ({result.workers} worker{'s' if result.workers > 1 else ''}): "
          f"{result.variables:,} variables, {result.constraints:,} constraints, built in "
          f"{result.build_seconds:.1f} s; {result.status} after {result.solve_seconds:.1f} s, "
          f"objective {objective}, bound £{result.bound / 100:,.2f}, gap {gap}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
