"""``pdps demo-data``: write a synthetic Sefton market as the contract's CSV files.

Registered with ``pdps`` by the ``pdps.commands`` entry point (``allocator`` never imports
``scenarios``). Exits as every ``pdps`` command does: 0 done, 2 usage (including an occupied
``--out`` folder), 1 an internal fault.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import click

from allocator.cli import run_guarded
from scenarios.limits import MAX_CHILDREN, MAX_UNITS


class OutputFolderRefused(click.ClickException):
    """An ``--out`` folder that already holds files: a usage error, exit status 2."""

    exit_code = 2


@click.command("demo-data", short_help="Write a synthetic Sefton market as contract CSVs.")
@click.option("--children", type=click.IntRange(min=1, max=MAX_CHILDREN), default=40,
              show_default=True, help="Children referred.")
@click.option("--units", type=click.IntRange(min=1, max=MAX_UNITS), default=400,
              show_default=True, help="Placement units listed.")
@click.option("--seed", type=click.IntRange(min=0), default=2026, show_default=True,
              help="Random seed: the same arguments give byte-identical files.")
@click.option("--out", required=True, type=click.Path(path_type=Path),
              help="Folder to create for referrals.csv, units.csv and conflicts.csv.")
@click.option("--as-of", "as_of", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="Date the market is valid at, YYYY-MM-DD (default: today).")
@click.option("--force", is_flag=True,
              help="Replace the three demo files in a folder that is not empty.")
@run_guarded
def demo_data(children: int, units: int, seed: int, out: Path, as_of: datetime | None,
              force: bool) -> None:
    """Write a synthetic Sefton market (referrals, units, conflicts) as contract CSV files.

    The data is calibrated to public figures (docs/data.md) and entirely fictional: no child,
    carer, home or provider in it is real. Validate it with `pdps validate ... --as-of` the
    same date.
    """
    from allocator.issues import InputError, Issue
    from models.limits import outside_run_days
    from scenarios.demo_data import OutputFolderError, generate, write
    from scenarios.folders import check_out

    when = as_of.date() if as_of is not None else date.today()
    # As `pdps allocate --as-of` (found in review: 0001-01-01 failed mid-generation, exit 1).
    if (outside := outside_run_days(when)) is not None:
        raise InputError([Issue("--as-of", None, None, outside, "usage")])
    check_out(out, force, "the demo files in it")  # before generating anything
    market = generate(children, units, seed, when)
    try:
        paths = write(market, out, force=force)
    except OutputFolderError as exc:
        raise OutputFolderRefused(str(exc)) from None
    click.echo(f"Wrote {', '.join(str(p) for p in paths)}")
    click.echo(market.summary())
