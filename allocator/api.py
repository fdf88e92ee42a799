"""The Python API the CLI itself calls: ``allocate`` and ``check``.

``allocate`` takes DataFrames or paths, runs read -> validate -> eligibility -> build ->
solve -> explain, and returns an :class:`AllocationResult` holding the assignment, the
summary, the explanations and the manifest; ``result.write(dir)`` writes the contract's
output folder whole or not at all.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import pandas as pd

from allocator.progress import stages
from allocator.validate import Inputs, TableSource, load_inputs
from models.policy import Policy

if TYPE_CHECKING:
    from allocator.check import CheckReport

Method = Literal["optimal", "greedy"]


class Stories(Mapping[str, str]):
    """Each child's story, written when asked for.

    A notebook explains one or two children; writing all of them up front cost a tenth of a
    second per thousand children in every run, scenario week and benchmark.
    """

    def __init__(self, table: pd.DataFrame):
        self._table = table
        self._row = {str(cid): k for k, cid in enumerate(table["child_id"])}

    def __getitem__(self, child_id: str) -> str:
        from allocator.summary import child_story

        return child_story(self._table.iloc[self._row[child_id]])

    def __iter__(self) -> Iterator[str]:
        return iter(self._row)

    def __len__(self) -> int:
        return len(self._row)


@dataclass
class AllocationResult:
    """Everything a run produced. ``allocation`` has one row per child, referrals' order."""

    allocation: pd.DataFrame
    summary: dict[str, Any]
    manifest: dict[str, Any]
    exclusions: pd.DataFrame
    inputs: Inputs = field(repr=False)
    explanations: Mapping[str, str] = field(default_factory=dict, repr=False)
    #: Per unit and fallback: places, places used, and what one more would be worth (see
    #: :mod:`allocator.placevalue`); written as ``place_values.csv``.
    place_values: pd.DataFrame | None = field(default=None, repr=False)

    def explain(self, child_id: str) -> str:
        """One child's story: where, why, at what cost, what approvals, what else was open."""
        text = self.explanations.get(str(child_id))
        if text is None:
            raise KeyError(f"no child {child_id!r} in this allocation")
        print(text)
        return text

    def write(self, out_dir: str | Path, *, force: bool = False) -> Path:
        from allocator.write import write_outputs

        return write_outputs(self, Path(out_dir), force=force)


def allocate(referrals: TableSource, units: TableSource, *, offers: TableSource | None = None,
             conflicts: TableSource | None = None,
             policy: Policy | str | Path | Mapping[str, Any] | None = None,
             as_of: date | str | None = None, method: Method = "optimal",
             time_limit_s: float | None = None, seed: int | None = None,
             gap: float | None = None, explain: bool = True) -> AllocationResult:
    """Allocate referred children to units; see the data contract for the inputs.

    Raises :class:`allocator.issues.InputError` (with every problem found) on bad input.
    ``time_limit_s``, ``seed`` and ``gap`` override the policy's solver settings, and are
    checked as the policy's are (:class:`ValueError` naming the argument otherwise).
    """
    started = time.perf_counter()
    inputs = load_inputs(referrals, units, offers=offers, conflicts=conflicts, policy=policy,
                         as_of=as_of)
    read_seconds = time.perf_counter() - started
    return allocate_inputs(inputs, method=method, time_limit_s=time_limit_s, seed=seed,
                           gap=gap, explain=explain, read_seconds=read_seconds)


def allocate_inputs(inputs: Inputs, *, method: Method = "optimal",
                    time_limit_s: float | None = None, seed: int | None = None,
                    gap: float | None = None, explain: bool = True,
                    read_seconds: float = 0.0) -> AllocationResult:
    """:func:`allocate` on inputs already validated (scenario runs reuse them)."""
    from allocator.explain import allocation_table, exclusions_table
    from allocator.manifest import build_manifest
    from allocator.nextbest import runner_ups
    from allocator.placevalue import place_values, summarise
    from allocator.problem import build_problem
    from allocator.solve import SolveSettings, greedy_solution, solve
    from allocator.summary import allocation_summary
    from allocator.universe import solve_large

    settings = _solver_settings(inputs.policy, time_limit_s=time_limit_s, seed=seed, gap=gap)
    solve_settings = SolveSettings(time_limit_s=settings.time_limit_s, seed=settings.seed,
                                   workers=settings.workers, gap=settings.gap)
    # A bar on a watching terminal only (allocator/progress.py): large runs spend minutes
    # in the solve and the runner-ups with nothing else to show.
    with stages(["build", "baseline", "solve", "runner-ups", "explain"],
                desc="allocate") as bar:
        problem = build_problem(inputs)
        bar.step()
        if problem.candidates is not None and method != "greedy":
            # Too many pairs for one model: candidates and pricing (allocator/universe.py).
            solution, problem = solve_large(problem, solve_settings)
            baseline = greedy_solution(problem.model, problem.children)
            bar.step()
        else:
            baseline = greedy_solution(problem.model, problem.children)
            bar.step()
            solution = baseline if method == "greedy" else solve(
                problem.model, problem.children, solve_settings, baseline)
        bar.step()
        mark = time.perf_counter()
        runner = runner_ups(problem.model, solution, solve_settings.seed) if explain else {}
        bar.step()
        table = allocation_table(problem, solution, runner)
        exclusions = exclusions_table(problem, solution)
        explain_seconds = time.perf_counter() - mark
        seconds = {"read": read_seconds, **problem.seconds, "solve": solution.seconds,
                   "explain": explain_seconds}
        summary = allocation_summary(problem, solution, table, baseline, seconds)
        values = place_values(problem, solution, solve_settings.seed,
                              with_values=method != "greedy")
        summary["place_values"] = summarise(values)
        summary["exclusions_csv"] = {
            "rows": len(exclusions),
            "lists": ("every unit for each unplaced child" if exclusions.attrs["every_unit"]
                      else "only the units each unplaced child was eligible for (all full): "
                           "every unit would be too many rows; excluded_by in "
                           "allocation.csv counts each rule")}
        manifest = build_manifest(inputs, solve_settings, method)
        bar.step()
    return AllocationResult(table, summary, manifest, exclusions, inputs,
                            Stories(table), values)


def _solver_settings(policy: Policy, **overrides: float | None) -> Any:
    """The policy's solver settings with the arguments given, checked as the policy's own
    are (found in review: ``gap=nan`` ran as 0 and wrote ``NaN`` into manifest.json)."""
    from pydantic import ValidationError

    given = {key: value for key, value in overrides.items() if value is not None}
    try:
        return type(policy.solver).model_validate({**policy.solver.model_dump(), **given})
    except ValidationError as error:
        first = error.errors()[0]
        raise ValueError(f"{first['loc'][0]}={first['input']!r}: {first['msg']}") from None


def check(allocation: pd.DataFrame | str | Path, referrals: TableSource, units: TableSource, *,
          offers: TableSource | None = None, conflicts: TableSource | None = None,
          policy: Policy | str | Path | Mapping[str, Any] | None = None,
          as_of: date | str | None = None,
          vacancies: Mapping[str, int] | None = None) -> CheckReport:
    """Recompute every rule and the objective for any allocation, without a solver.

    ``allocation`` is a DataFrame or an ``allocation.csv`` path (read as text). Raises
    :class:`allocator.issues.InputError` for unreadable input; broken rules are not errors
    but the returned :class:`allocator.check.CheckReport`'s ``violations``. ``vacancies``
    (unit id -> count) replaces those units' vacancies, as a run recorded in a call-off
    register took them from the register (its manifest's ``register_vacancies``).
    """
    from allocator.check import check_allocation, read_allocation
    from allocator.validate import with_vacancies

    table = allocation if isinstance(allocation, pd.DataFrame) else read_allocation(allocation)
    inputs = load_inputs(referrals, units, offers=offers, conflicts=conflicts, policy=policy,
                         as_of=as_of)
    if vacancies:
        inputs = with_vacancies(inputs, vacancies)
    label = "allocation" if isinstance(allocation, pd.DataFrame) else str(allocation)
    return check_allocation(table, inputs, label)
