"""``pdps scenario run | compare | plan-growth``: market-growth scenario planning.

Registered with ``pdps`` by the ``pdps.commands`` entry point. Exits as every ``pdps``
command does: 0 done, 2 bad input or usage (a scenario file's unknown key is named with its
file), 1 an internal fault. A progress bar shows on a terminal only.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any

import click

from allocator.cli import run_guarded


class UsageProblem(click.ClickException):
    """Bad usage or an occupied output folder: exit status 2."""

    exit_code = 2


def _run_options(func: Callable[..., Any]) -> Callable[..., Any]:
    options = [
        click.option("--out", required=True, type=click.Path(path_type=Path),
                     help="Folder to write the tables (CSV, xlsx) and plots (PNG) into."),
        click.option("--replications", type=click.IntRange(min=1), default=None,
                     help="Replications (default: the scenario file's)."),
        click.option("--seed", type=click.IntRange(min=0), default=None,
                     help="Random seed (default: the scenario file's)."),
        click.option("--executor", type=click.Choice(["local", "dask"]), default="local",
                     show_default=True, help="Local processes, or a Dask cluster."),
        click.option("--workers", type=click.IntRange(min=1), default=None,
                     help="Local processes (default: one per core; 1 runs in this process)."),
        click.option("--scheduler", default=None,
                     help="Dask scheduler address (tcp://host:port) for --executor dask."),
        click.option("--force", is_flag=True, help="Replace a folder that is not empty."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _guard_outputs(func: Callable[..., Any]) -> Callable[..., Any]:
    """Occupied folders and executor misuse are usage errors (exit 2), not faults."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from scenarios.executors import ExecutorUnavailableError
        from scenarios.folders import check_out
        from scenarios.outputs import OutputExistsError

        if kwargs.get("executor") == "dask" and not kwargs.get("scheduler"):
            raise UsageProblem("--executor dask needs --scheduler ADDRESS (tcp://host:port)")
        out = kwargs.get("out")
        if out is not None:
            check_out(Path(out), bool(kwargs.get("force")))
        try:
            return func(*args, **kwargs)
        except (OutputExistsError, ExecutorUnavailableError) as exc:
            raise UsageProblem(str(exc)) from None

    return wrapper


@click.group("scenario", short_help="Simulate market growth: run, compare, plan-growth.")
def scenario() -> None:
    """Simulate weeks of referrals allocated by the engine, under market changes.

    Scenario files are YAML (docs/scenarios.md; examples in scenarios/examples/).
    """


@scenario.command("run")
@click.argument("file", type=click.Path(path_type=Path))
@_run_options
@run_guarded
@_guard_outputs
def run_command(file: Path, out: Path, replications: int | None, seed: int | None,
                executor: str, workers: int | None, scheduler: str | None,
                force: bool) -> None:
    """Simulate one scenario FILE and write weekly measures with 95% intervals."""
    from scenarios.config import load_scenario
    from scenarios.montecarlo import run
    from scenarios.outputs import write_run

    spec = load_scenario(file)
    result = run(spec, replications=replications, seed=seed, executor=executor,
                 workers=workers, scheduler=scheduler)
    write_run(result, out, force=force, about={"file": str(file), "executor": executor})
    summary = result.summary()
    click.echo(f"{spec.name}: {len(result.replications)} replications x "
               f"{result.weekly.shape[1]} weeks, seed {result.seed}"
               + ("; one replication gives no 95% intervals"
                  if len(result.replications) == 1 else ""))
    click.echo(_headline(summary))
    click.echo(f"Wrote {out}")


@scenario.command("compare")
@click.argument("a", type=click.Path(path_type=Path))
@click.argument("b", type=click.Path(path_type=Path))
@_run_options
@run_guarded
@_guard_outputs
def compare_command(a: Path, b: Path, out: Path, replications: int | None, seed: int | None,
                    executor: str, workers: int | None, scheduler: str | None,
                    force: bool) -> None:
    """Compare scenarios A and B on common random numbers (B - A, paired intervals)."""
    from scenarios.config import load_scenario
    from scenarios.montecarlo import compare
    from scenarios.outputs import write_comparison

    first, second = load_scenario(a), load_scenario(b)
    comparison = compare(first, second, replications=replications, seed=seed,
                         executor=executor, workers=workers, scheduler=scheduler)
    write_comparison(comparison, out, force=force,
                     about={"a": str(a), "b": str(b), "executor": executor})
    table = comparison.differences()
    click.echo(f"{second.name} - {first.name}, {len(comparison.a.replications)} paired "
               "replications:")
    for measure in ("total_spend", "mean_distance", "fallback_placements", "waiting_weeks"):
        row = table.loc[measure]
        click.echo(f"  {measure}: {row['difference']:,.2f} "
                   f"(95% interval {_interval(row['low'], row['high'], ',.2f')})")
    click.echo(f"Wrote {out}")


@scenario.command("plan-growth")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--candidates", required=True, type=click.Path(path_type=Path),
              help="YAML list of candidate units (docs/scenarios.md).")
@click.option("--places", required=True, type=click.IntRange(min=1),
              help="Places to commission.")
@click.option("--samples", type=click.IntRange(min=1), default=8, show_default=True,
              help="Baseline replications whose demand snapshots the choice is made on.")
@click.option("--validation-seed", type=click.IntRange(min=0), default=None,
              help="Fresh seed for the check (default: the scenario's seed + 1).")
@_run_options
@run_guarded
@_guard_outputs
def plan_growth_command(file: Path, candidates: Path, places: int, samples: int,
                        validation_seed: int | None, out: Path, replications: int | None,
                        seed: int | None, executor: str, workers: int | None,
                        scheduler: str | None, force: bool) -> None:
    """Choose candidate units adding PLACES places at least expected cost, then check the
    choice against random and cheapest choices by re-simulating on fresh seeds."""
    from scenarios.config import load_scenario
    from scenarios.growth import load_candidates, plan_growth
    from scenarios.outputs import write_tables

    spec = load_scenario(file)
    if seed is not None:
        spec = spec.with_changes(seed=seed)
    plan = plan_growth(spec, load_candidates(candidates), places, samples=samples,
                       replications=replications, validation_seed=validation_seed,
                       executor=executor, workers=workers, scheduler=scheduler)
    savings = plan.savings()
    evaluation = {k: v.summary().reset_index().assign(rule=k)
                  for k, v in plan.evaluation.items()}
    write_tables(out, {"choice": plan.choice_table(), "savings": savings,
                       "evaluation": _stack(evaluation)}, force=force,
                 plots=lambda folder: _growth_plot(folder, plan),
                 about={"file": str(file), "candidates": str(candidates), "places": places,
                        **plan.saa})
    chosen = [c.id for c, p in zip(plan.candidates, plan.picks["saa"], strict=True) if p]
    click.echo(f"Chosen: {', '.join(chosen)}")
    for _, row in savings[savings["measure"] == "total_cost"].iterrows():
        click.echo(f"  {row['comparison']}: £{row['difference']:,.0f} over the horizon "
                   f"(95% interval £{row['low']:,.0f} to £{row['high']:,.0f})")
    click.echo(f"Wrote {out}")


def _stack(frames: dict[str, Any]) -> Any:
    import pandas as pd

    return pd.concat(frames.values(), ignore_index=True)


def _growth_plot(folder: Path, plan: Any) -> None:
    from scenarios.outputs import _plot_weekly

    _plot_weekly(folder / "spend.png", list(plan.evaluation.values()), "spend",
                 "Weekly spend (£)")


def _interval(low: float, high: float, fmt: str) -> str:
    """``low to high``; one replication gives none (found in review: "nan to nan")."""
    if math.isnan(low) or math.isnan(high):
        return "none from one replication"
    return f"{low:{fmt}} to {high:{fmt}}"


def _headline(summary: Any) -> str:
    def cell(name: str, fmt: str) -> str:
        row = summary.loc[name]
        if math.isnan(row["low"]) or math.isnan(row["high"]):  # one replication: no interval
            return f"{row['mean']:{fmt}}"
        return f"{row['mean']:{fmt}} ({row['low']:{fmt}} to {row['high']:{fmt}})"

    return (f"  weekly spend £{cell('mean_weekly_spend', ',.0f')}; mean distance "
            f"{cell('mean_distance', '.1f')} miles; fallback placements "
            f"{cell('fallback_placements', '.1f')}; child-weeks waiting "
            f"{cell('waiting_weeks', '.1f')}")
