"""``pdps report``: reports for people, one subcommand per report.

The group joins ``pdps`` by the ``pdps.commands`` entry point ``report``. Its subcommands
come from two places: ``allocation`` here, and any package's ``pdps.report.commands`` entry
points (the call-off register's ``spend`` and ``sufficiency``), so a new report is added by
registering a command, without editing this module.
"""

from __future__ import annotations

import click

from allocator.cli import PluginGroup, run_guarded

REPORT_COMMANDS = "pdps.report.commands"


class ReportGroup(PluginGroup):
    """A click group that also offers the report commands registered by entry point."""

    plugin_group = REPORT_COMMANDS


@click.group(cls=ReportGroup)
def report() -> None:
    """Reports for people: an HTML page of an allocation, and more."""


@report.command("allocation")
@click.argument("folder", type=click.Path(file_okay=False))
@click.option("--out", "-o", default=None, type=click.Path(dir_okay=False),
              help="Where to write the page (default: FOLDER/report.html).")
@click.option("--referrals", default=None,
              help="The run's referrals file, if it has moved since the run (for the map).")
@click.option("--units", default=None,
              help="The run's units file, if it has moved since the run (for the map).")
@run_guarded
def allocation(folder: str, out: str | None, referrals: str | None, units: str | None) -> None:
    """Write a self-contained HTML report of the run in FOLDER.

    FOLDER is a `pdps allocate` output folder (allocation.csv, summary.json,
    manifest.json). The page works offline, charts included: the headline against today's
    practice, placements and their approvals, unplaced children and why, spend by route
    and setting, distance from home, and home-to-placement flows by area.
    """
    from allocator.reports import write_allocation_report

    path = write_allocation_report(folder, out, referrals=referrals, units=units)
    click.echo(f"Report written to {path}")
    click.echo(f"Open it in a browser: {path.resolve().as_uri()}")
