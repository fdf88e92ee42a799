"""The register's ``pdps`` commands, joined to the CLI by entry points (see pyproject.toml).

``approve``, ``reject``, ``end-placement``, ``export-903`` and the ``register`` group are
top-level commands; ``spend`` and ``sufficiency`` join ``pdps report``. ``pdps allocate
--register`` calls :func:`open_for_run` before solving and :func:`record_allocation` after
writing. Every command takes ``--register`` (or ``$PDPS_REGISTER``): a SQLite file path or a
PostgreSQL URL. Bad requests exit 2 with one clear line; an approval note is stored, never
printed.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from datetime import date
from functools import wraps
from typing import TYPE_CHECKING, Any, TypeVar

import click

from allocator.cli import run_guarded
from allocator.register.errors import RegisterError

if TYPE_CHECKING:
    from allocator.api import AllocationResult
    from allocator.validate import Inputs

#: Exit status of ``approve`` when the approval is recorded but the placement cannot start
#: (the place was taken meanwhile, or the unit's lot admission is suspended).
EXIT_LAPSED = 3
#: Exit status of ``register status`` when an invariant is broken.
EXIT_INCONSISTENT = 3

register_option = click.option(
    "--register", "register", envvar="PDPS_REGISTER", required=True,
    help="The register: a SQLite file or a PostgreSQL URL (default: $PDPS_REGISTER).")
officer_option = click.option(
    "--officer", envvar="PDPS_OFFICER", required=True,
    help="Your name as the scheme of delegation writes it (default: $PDPS_OFFICER).")
on_option = click.option("--on", "on", default=None,
                         help="Date the decision takes effect, YYYY-MM-DD (default: today).")


F = TypeVar("F", bound=Callable[..., Any])


def guarded(func: F) -> F:
    """:func:`allocator.cli.run_guarded` for a register command: besides exit 2 for bad input
    and 1 for faults, a read-only, corrupt or unopenable register (``--register``) is the
    user's problem, exit 2, not an internal fault."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from allocator.register.db import register_faults

        with register_faults(str(kwargs.get("register"))):
            return func(*args, **kwargs)

    return run_guarded(wrapper)  # type: ignore[return-value]


def parse_day(value: str | None, option: str) -> date | None:
    """A ``YYYY-MM-DD`` option as a date in the register's range; exit 2 naming the option
    otherwise."""
    from allocator.register.errors import check_day

    if value is None:
        return None
    try:
        day = date.fromisoformat(value.strip())
    except ValueError:
        raise RegisterError(f"{value!r} is not a date (YYYY-MM-DD)", option) from None
    check_day(day, option)
    return day


def open_for_run(register: str) -> None:
    """Check the register before ``pdps allocate`` reads its inputs and solves, so a bad one
    fails first (exit 2): it must exist at this version, be undamaged, and be writable,
    otherwise the run would write its results and then fail to record them."""
    from allocator.register.db import (
        check_readable,
        check_writable,
        open_engine,
        register_faults,
    )
    from allocator.register.migrate import require_current

    with register_faults(register):
        engine = open_engine(register)
        require_current(engine)
        check_readable(engine, register)
        check_writable(engine, register)


def vacancies_from_register(register: str, inputs: Inputs) -> Inputs:
    """``inputs`` with each known unit's vacancies as the register holds them; says how many
    units' counts changed (the manifest records them: :func:`allocator.validate.with_vacancies`)."""
    from allocator.register.db import register_faults
    from allocator.register.store import register_vacancies
    from allocator.validate import with_vacancies

    with register_faults(register):
        known = register_vacancies(register)
    updated = with_vacancies(inputs, known)
    if updated.register_vacancies:
        click.echo(f"Vacancies of {len(updated.register_vacancies)} unit(s) taken from the "
                   "register, where the units file differs (placements started or ended "
                   "since it was written).")
    return updated


def record_allocation(register: str, result: AllocationResult) -> None:
    """Record ``result`` in the register and say what officers now have to decide."""
    from allocator.register.audit import os_user
    from allocator.register.db import register_faults
    from allocator.register.store import record_run

    with register_faults(register):
        record = record_run(register, result, recorded_by=os_user())
    superseded = (f"; {record.superseded} earlier pending proposal(s) superseded"
                  if record.superseded else "")
    click.echo(f"Recorded as run {record.run_id} in the register: {record.pending} "
               f"proposal(s) waiting for approval{superseded}. List them with "
               "`pdps register proposals`.")


def _decide(decision: str, proposal: int, officer: str, role: str, note: str | None,
            on: str | None, register: str) -> None:
    from allocator.register.decisions import approve, reject

    act = approve if decision == "approve" else reject
    outcome = act(register, proposal, officer, role, note=note, on=parse_day(on, "--on"))
    click.echo(outcome.message)
    if outcome.status == "lapsed":
        sys.exit(EXIT_LAPSED)


def _role_choice() -> click.Choice:
    from allocator.register.roles import ROLES

    return click.Choice(ROLES)


@click.command("approve")
@click.argument("proposal", type=int)
@officer_option
@click.option("--role", required=True, type=_role_choice(), help="The role you approve for.")
@click.option("--note", default=None, help="Why (kept in the register, never printed).")
@on_option
@register_option
@guarded
def approve_command(proposal: int, officer: str, role: str, note: str | None, on: str | None,
                    register: str) -> None:
    """Approve PROPOSAL for one role; the last approval it needs starts the placement.

    Exit 0 when recorded; 3 when recorded but the placement could not start (the place was
    filled meanwhile): the child is then back on the waiting list; 2 when refused.
    """
    _decide("approve", proposal, officer, role, note, on, register)


@click.command("reject")
@click.argument("proposal", type=int)
@officer_option
@click.option("--role", required=True, type=_role_choice(), help="The role you decide for.")
@click.option("--note", default=None, help="Why (kept in the register, never printed).")
@on_option
@register_option
@guarded
def reject_command(proposal: int, officer: str, role: str, note: str | None, on: str | None,
                   register: str) -> None:
    """Reject PROPOSAL for one role: it ends and the child is back on the waiting list."""
    _decide("reject", proposal, officer, role, note, on, register)


@click.command("end-placement")
@click.argument("placement", type=int)
@officer_option
@on_option
@click.option("--reason", default=None, help="SSDA903 REC code, e.g. E4A, E8, X1.")
@register_option
@guarded
def end_placement_command(placement: int, officer: str, on: str | None, reason: str | None,
                          register: str) -> None:
    """End PLACEMENT on --on (the day the child left) and free its place."""
    from allocator.register.decisions import end_placement

    outcome = end_placement(register, placement, officer, on=parse_day(on, "--on"),
                            reason_code=reason)
    click.echo(outcome.message)


def _period(start: str, end: str) -> tuple[date, date]:
    first, last = parse_day(start, "--from"), parse_day(end, "--to")
    assert first is not None and last is not None
    return first, last


@click.command("spend")
@click.option("--from", "start", required=True, help="First day, YYYY-MM-DD.")
@click.option("--to", "end", required=True, help="Last day, YYYY-MM-DD (included).")
@click.option("--out", "-o", required=True, help="Folder for CSV, xlsx and HTML.")
@click.option("--force", is_flag=True, help="Replace an earlier report folder.")
@register_option
@guarded
def spend_command(start: str, end: str, out: str, force: bool, register: str) -> None:
    """Spend in the period and committed weekly spend, by route, lot, provider, setting and
    borough, with the placements reaching adult social care budgets."""
    from allocator.register.report_files import write_report
    from allocator.register.reports import spend_report

    report = spend_report(register, *_period(start, end))
    write_report(report, out, force=force)
    _echo_facts(report.facts, out)


@click.command("sufficiency")
@click.option("--from", "start", required=True, help="First run date, YYYY-MM-DD.")
@click.option("--to", "end", required=True, help="Last run date, YYYY-MM-DD (included).")
@click.option("--out", "-o", required=True, help="Folder for CSV, xlsx and HTML.")
@click.option("--force", is_flag=True, help="Replace an earlier report folder.")
@register_option
@guarded
def sufficiency_command(start: str, end: str, out: str, force: bool, register: str) -> None:
    """Demand the local market could not meet, by setting, need and area, and what the
    fallbacks cost, over the runs recorded in the period."""
    from allocator.register.report_files import write_report
    from allocator.register.reports import sufficiency_report

    report = sufficiency_report(register, *_period(start, end))
    write_report(report, out, force=force)
    _echo_facts(report.facts, out)


def _echo_facts(facts: dict[str, str], out: str) -> None:
    for key, value in facts.items():
        click.echo(f"{key}: {value}")
    click.echo(f"Written to {out}/")


@click.command("export-903")
@click.option("--out", "-o", required=True, help="CSV file for the episodes.")
@click.option("--from", "start", default=None, help="Placements started on or after.")
@click.option("--to", "end", default=None, help="Placements started on or before.")
@click.option("--force", is_flag=True, help="Replace an existing file that is not an earlier "
                                             "export.")
@register_option
@guarded
def export_903_command(out: str, start: str | None, end: str | None, force: bool,
                       register: str) -> None:
    """Export started placements as SSDA903-shaped episodes (CHILD, DECOM, RNE, LS, CIN,
    PLACE, PLACE_PROVIDER, URN, DEC, REC)."""
    from allocator.register.ssda903 import check_out_episodes, episodes, write_episodes

    check_out_episodes(out, force)
    frame = episodes(register, parse_day(start, "--from"), parse_day(end, "--to"))
    write_episodes(frame, out)
    click.echo(f"{len(frame)} episode(s) written to {out}")


@click.group("register")
def register_group() -> None:
    """Create and inspect the call-off register; units' vacancies and lot admissions."""


@register_group.command("init")
@click.option("--delegation", default=None, help="Scheme of delegation YAML to load.")
@register_option
@guarded
def init_command(delegation: str | None, register: str) -> None:
    """Create the register, or bring an existing one to this version's schema."""
    from allocator.register.audit import os_user
    from allocator.register.db import display_url, new_sqlite_file, open_engine, register_url
    from allocator.register.delegation import read_scheme
    from allocator.register.migrate import LATEST, migrate
    from allocator.register.state import record_scheme

    # The scheme is read and validated before anything is created: a bad file leaves no
    # register behind (found in review: init made new.db, then refused the scheme).
    scheme = read_scheme(delegation) if delegation else None
    created = new_sqlite_file(register)
    engine = open_engine(register, create=True)
    try:
        applied = migrate(engine)
        loaded = record_scheme(engine, *scheme, os_user()) if scheme else None
    except BaseException:
        engine.dispose()
        if created is not None:  # a new file half set up: remove it and SQLite's side files
            for suffix in ("", "-wal", "-shm", "-journal"):
                created.with_name(created.name + suffix).unlink(missing_ok=True)
        raise
    where = display_url(register_url(register))
    click.echo(f"{where}: schema version {LATEST}" +
               (f" (applied {', '.join(map(str, applied))})" if applied else " (up to date)"))
    if loaded:
        click.echo(f"Scheme of delegation loaded: {loaded['officers']} officers, sha256 "
                   f"{loaded['sha256'][:12]}")


@register_group.command("delegation")
@click.argument("file")
@register_option
@guarded
def delegation_command(file: str, register: str) -> None:
    """Load FILE (YAML) as the scheme of delegation in force from now on."""
    from allocator.register.audit import os_user
    from allocator.register.state import load_delegation

    loaded = load_delegation(register, file, os_user())
    click.echo(f"Scheme of delegation {loaded['id']} in force: {loaded['officers']} officers, "
               f"sha256 {loaded['sha256'][:12]}")


@register_group.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@register_option
@guarded
def status_command(as_json: bool, register: str) -> None:
    """Counts, the waiting list and a consistency check (exit 3 if anything is broken)."""
    from allocator.register.state import status

    facts = status(register)
    if as_json:
        click.echo(json.dumps(facts, indent=2, default=str))
    else:
        for key, value in facts.items():
            if key != "problems":
                click.echo(f"{key}: {value}")
        click.echo("consistent: " + ("yes" if not facts["problems"] else "NO"))
        for problem in facts["problems"]:
            click.echo(f"  {problem}")
    if facts["problems"]:
        sys.exit(EXIT_INCONSISTENT)


@register_group.command("proposals")
# A choice (found in review: a misspelt status listed "No bogus proposals." as if none).
@click.option("--status", "wanted", default="pending", show_default=True,
              type=click.Choice(["pending", "placed", "rejected", "lapsed", "superseded",
                                 "unplaced", "all"]),
              help="Proposals in this status.")
@register_option
@guarded
def proposals_command(wanted: str, register: str) -> None:
    """List proposals with the approvals each still needs."""
    from allocator.register.state import proposal_table

    table = proposal_table(register, wanted)
    if table.empty:
        click.echo(f"No {wanted} proposals.")
        return
    click.echo(table.to_string(index=False))


def _lot_command(event: str, doc: str) -> click.Command:
    @click.argument("unit")
    @click.argument("lot")
    @officer_option
    @on_option
    @click.option("--reason", default=None, help="Why, e.g. 'Ofsted inadequate 2026-11-02'.")
    @register_option
    @guarded
    def command(unit: str, lot: str, officer: str, on: str | None, reason: str | None,
                register: str) -> None:
        from allocator.register.store import lot_event

        day = parse_day(on, "--on") or date.today()
        lot_event(register, unit, lot, event, day, officer, reason)
        click.echo(f"{unit} lot {lot}: {event} from {day.isoformat()}")

    command.__doc__ = doc
    return register_group.command(event)(command)


_lot_command("admit", "Admit UNIT to LOT of the PDPS.")
_lot_command("suspend", "Suspend UNIT's admission to LOT: no new PDPS placement starts there.")
_lot_command("reinstate", "Reinstate UNIT's suspended admission to LOT.")
_lot_command("withdraw", "Withdraw UNIT's admission to LOT.")


@register_group.command("vacancies")
@click.argument("unit")
@click.argument("count", type=int)
@officer_option
@register_option
@guarded
def vacancies_command(unit: str, count: int, officer: str, register: str) -> None:
    """Set UNIT's free places to COUNT, as its provider reports them."""
    from allocator.register.store import set_vacancies

    set_vacancies(register, unit, count, officer)
    click.echo(f"{unit}: {count} free place(s)")
