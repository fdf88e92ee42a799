"""The ``pdps`` command line: thin wrappers over the Python API, with the contract's exits.

Exit 0 when the job ran (unplaced children are a result), 2 for bad input or usage (every
problem listed with its file, row and column, no traceback), 1 for an internal fault (a short
message; ``--debug`` shows the traceback). Heavy modules are imported inside commands so that
``pdps --help`` stays quick.
"""

from __future__ import annotations

import math
import sys
import traceback
import warnings
from collections.abc import Callable
from functools import wraps
from importlib.metadata import entry_points
from typing import Any, TypeVar

import click

from allocator import __version__
from models.limits import MAX_SEED

F = TypeVar("F", bound=Callable[..., Any])
COMMAND_GROUP = "pdps.commands"


def run_guarded(func: F) -> F:
    """Turn input errors into exit 2 and faults into exit 1, as the contract requires."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        ctx = click.get_current_context()
        debug = bool(ctx.find_root().params.get("debug"))
        # Library warnings (numpy's "overflow encountered", say) print source paths and
        # lines: noise to a commissioner, and they broke the one-line fault message. They
        # are held, counted in one line, and shown in full with --debug.
        with warnings.catch_warnings(record=True) as held:
            try:
                return _guarded_call(func, debug, *args, **kwargs)
            finally:
                _report_warnings(held, debug)

    return wrapper  # type: ignore[return-value]


def _guarded_call(func: Callable[..., Any], debug: bool, *args: Any, **kwargs: Any) -> Any:
    from allocator.issues import InputError

    try:
        return func(*args, **kwargs)
    except InputError as exc:
        click.echo(exc.report(), err=True)
        click.echo(f"{len(exc.errors)} error(s): {exc.outcome}", err=True)
        sys.exit(2)
    except (click.exceptions.Exit, click.ClickException, SystemExit):
        raise
    except KeyboardInterrupt:
        click.echo("interrupted: nothing was written.", err=True)
        sys.exit(130)
    except Exception as exc:
        if debug:
            traceback.print_exc()
        else:
            click.echo(f"internal error ({type(exc).__name__}): {_first_line(exc)}; "
                       "run with --debug for the traceback", err=True)
        sys.exit(1)


def _report_warnings(held: list[warnings.WarningMessage], debug: bool) -> None:
    if not held:
        return
    if debug:
        for message in held:
            click.echo(warnings.formatwarning(message.message, message.category,
                                              message.filename, message.lineno),
                       err=True, nl=False)
    else:
        click.echo(f"note: {len(held)} warning(s) from the libraries used; run with --debug "
                   "to see them", err=True)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else "no message"


class PluginGroup(click.Group):
    """A group that also offers the commands other packages register by entry point.

    ``scenarios`` builds on ``allocator`` and must never be imported by it, so its commands
    (``demo-data``, ``scenario``) join the CLI through the ``pdps.commands`` entry points.
    """

    #: The entry-point group whose commands join this group.
    plugin_group = COMMAND_GROUP

    def _plugins(self) -> dict[str, Any]:
        return {ep.name: ep for ep in entry_points(group=self.plugin_group)}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(self._plugins()))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is not None:
            return command
        plugin = self._plugins().get(cmd_name)
        return plugin.load() if plugin is not None else None


@click.group(cls=PluginGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="pdps")
@click.option("--debug", is_flag=True, help="Show the traceback of an internal fault.")
def main(debug: bool) -> None:
    """Allocate referred children in care to placement units: exactly, explainably.

    Recommends; people decide. Inputs follow the data contract (docs/data-contract.md).
    """


def input_options(func: F) -> F:
    """The input files every command that reads the contract takes."""
    options = [
        click.option("--referrals", "-r", required=True, help="Referrals (CSV, xlsx, Parquet)."),
        click.option("--units", "-u", required=True, help="Units (CSV, xlsx, Parquet)."),
        click.option("--offers", default=None, help="Offers from a call-off (optional)."),
        click.option("--conflicts", default=None, help="Children who must not share a unit."),
        click.option("--policy", default=None, help="Policy YAML (default: the contract's)."),
        click.option("--as-of", "as_of", default=None, help="Date of the run, YYYY-MM-DD "
                     "(default: today)."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


@main.command()
@input_options
@run_guarded
def validate(referrals: str, units: str, offers: str | None, conflicts: str | None,
             policy: str | None, as_of: str | None) -> None:
    """Check input files against the contract and summarise demand and supply."""
    from allocator.summary import input_summary
    from allocator.validate import load_inputs

    inputs = load_inputs(referrals, units, offers=offers, conflicts=conflicts, policy=policy,
                         as_of=as_of)
    for warning in inputs.warnings:
        click.echo(str(warning), err=True)
    click.echo(input_summary(inputs))


def _a_number(ctx: click.Context, param: click.Parameter,
              value: float | None) -> float | None:
    """click's FloatRange lets NaN through (found in review: ``--gap nan`` ran as 0 and wrote
    ``NaN``, which is not JSON, into manifest.json)."""
    if value is not None and math.isnan(value):
        raise click.BadParameter("nan is not a number", ctx, param)
    return value


def _positive_seconds(ctx: click.Context, param: click.Parameter,
                      value: float | None) -> float | None:
    """As the policy's ``solver.time_limit_s``: a finite number of seconds above 0 (click's
    FloatRange lets NaN and infinity through, and NaN would reach manifest.json)."""
    if value is not None and not (math.isfinite(value) and value > 0):
        raise click.BadParameter(f"{value} is not a number of seconds above 0", ctx, param)
    return value


@main.command()
@input_options
@click.option("--out", "-o", required=True, help="Folder for the results (written whole).")
@click.option("--method", type=click.Choice(["optimal", "greedy"]), default="optimal",
              show_default=True, help="optimal: proven best; greedy: today's practice.")
@click.option("--time-limit", type=float, default=None, callback=_positive_seconds,
              help="Seconds for the solver (default: the policy's); returns the best found "
                   "with its bound.")
@click.option("--seed", type=click.IntRange(0, MAX_SEED), default=None,
              help="Solver seed (default: the policy's).")
@click.option("--gap", type=click.FloatRange(0, 1, max_open=True), default=None,
              callback=_a_number,
              help="Stop at this relative gap (default 0: prove optimality).")
@click.option("--force", is_flag=True, help="Replace a non-empty --out folder.")
@click.option("--register", "register", default=None,
              help="Also record the run and its proposals in this call-off register "
                   "(SQLite file or PostgreSQL URL; see docs/register.md).")
@run_guarded
def allocate(referrals: str, units: str, offers: str | None, conflicts: str | None,
             policy: str | None, as_of: str | None, out: str, method: str,
             time_limit: float | None, seed: int | None, gap: float | None, force: bool,
             register: str | None = None) -> None:
    """Allocate children to units and write allocation.csv, summary.json and more."""
    import time
    from pathlib import Path

    from allocator.api import allocate_inputs
    from allocator.validate import load_inputs
    from allocator.write import _check_target

    _check_target(Path(out), force)
    if register:  # the register sits after `write`: imported only when asked for
        from allocator.register.cli import open_for_run

        open_for_run(register)
    started = time.perf_counter()
    inputs = load_inputs(referrals, units, offers=offers, conflicts=conflicts, policy=policy,
                         as_of=as_of)
    if register:  # the register's vacancies are authoritative for the units it knows
        from allocator.register.cli import vacancies_from_register

        inputs = vacancies_from_register(register, inputs)
    result = allocate_inputs(inputs, method=method,  # type: ignore[arg-type]
                             time_limit_s=time_limit, gap=gap, seed=seed,
                             read_seconds=time.perf_counter() - started)
    for warning in result.inputs.warnings:
        click.echo(str(warning), err=True)
    result.write(out, force=force)
    click.echo(headline(result.summary))
    click.echo(f"Results written to {out}/ (allocation.csv, allocation.xlsx, summary.json, "
               "manifest.json, exclusions.csv, place_values.csv)")
    if register:
        from allocator.issues import InputError
        from allocator.register.cli import record_allocation

        try:
            record_allocation(register, result)
        except InputError as exc:  # found in review: it said "nothing was written" here
            exc.outcome = (f"the results are in {out}/, but the run is not in the register; "
                           "record it by running again with --register once it is fixed.")
            raise


def headline(summary: dict[str, Any]) -> str:
    """The four numbers a commissioner asks for first."""
    versus = summary["against_greedy"]
    approvals = sum(summary["approvals_needed"].values())
    proof = ("proven optimal" if summary["status"] == "optimal" else
             f"{summary['status']}, gap £{summary['gap_pounds']:,.2f}")
    return "\n".join([
        f"Placed {summary['placed']} of {summary['children']} children "
        f"({summary['placed_via_fallback']} through fallbacks, {summary['unplaced']} unplaced); "
        f"{proof}.",
        f"Weekly spend £{summary['total_weekly_cost']:,.2f}; against today's practice "
        f"(greedy) that saves £{versus['saving_weekly_cost']:,.2f} a week and "
        f"{versus['saving_total_distance_miles']:,.1f} miles in total.",
        f"Approvals needed: {approvals} across "
        f"{sum(1 for a in summary.get('approvals_needed', {}).values() if a)} roles "
        + "(" + ", ".join(f"{k} {v}" for k, v in summary["approvals_needed"].items()) + ").",
    ])


#: ``pdps check`` exit status when the allocation breaks a rule (0: it holds, 2: bad input).
EXIT_VIOLATIONS = 3


@main.command()
@click.option("--allocation", "-a", required=True, help="allocation.csv to check.")
@input_options
@run_guarded
def check(allocation: str, referrals: str, units: str, offers: str | None,
          conflicts: str | None, policy: str | None, as_of: str | None) -> None:
    """Check any allocation against every hard rule and recompute its objective.

    No solver is used: the rules are re-read from the data contract. Prints OK and the
    objective, or each violation. Exit 0 if every rule holds, 3 if any is broken, 2 for bad
    input. Give the same inputs and --as-of the allocation was made with. A run recorded in a
    call-off register took some units' vacancies from it: when the allocation's folder holds
    a manifest.json listing them (register_vacancies), they are applied again.
    """
    from allocator.api import check as run

    vacancies = _register_vacancies(allocation)
    if vacancies:
        click.echo(f"Vacancies of {len(vacancies)} unit(s) taken from manifest.json "
                   "(the run used the call-off register's counts).", err=True)
    report = run(allocation, referrals, units, offers=offers, conflicts=conflicts,
                 policy=policy, as_of=as_of, vacancies=vacancies)
    click.echo(report.text())
    if not report.ok:
        sys.exit(EXIT_VIOLATIONS)


def _register_vacancies(allocation: str) -> dict[str, int]:
    """The ``register_vacancies`` of the manifest beside ``allocation``, if there is one."""
    import json
    from pathlib import Path

    manifest = Path(allocation).with_name("manifest.json")
    try:
        recorded = json.loads(manifest.read_text(encoding="utf-8")).get("register_vacancies")
    except (OSError, ValueError, AttributeError):
        return {}
    if not isinstance(recorded, dict):
        return {}
    return {str(k): int(v) for k, v in recorded.items()
            if isinstance(v, int) and not isinstance(v, bool)}
