"""The register's refusal, kept apart from the database code so the CLI can import it cheaply.

``pdps --help`` lists the register's commands, which imports their module; importing
SQLAlchemy there would cost a third of a second on every ``pdps`` call.
"""

from __future__ import annotations

from datetime import date

from allocator.issues import InputError, Issue
from models.limits import outside_run_days


class RegisterError(InputError):
    """A request the register refuses: unknown id, missing role, wrong state. Exit 2."""

    def __init__(self, message: str, where: str = "register"):
        super().__init__([Issue(where, None, None, message, "register")])

    def __str__(self) -> str:
        return self.report()


class LoggedRefusalError(RegisterError):
    """A decision refused and written to the audit log (found in review: the message said
    "the refusal is logged" and then "nothing was written")."""

    outcome = "the refusal is in the register's audit log; nothing else was changed."


def check_day(day: date, option: str) -> None:
    """Refuse a date outside the run dates (:mod:`models.limits`), naming the option: the
    register's decisions, report periods and export windows are run dates, and the edges of
    Python's calendar overflowed (``--to 9999-12-31`` failed computing the day after the
    period, found in review)."""
    if (outside := outside_run_days(day)) is not None:
        raise RegisterError(outside, option)


def check_period(start: date | None, end: date | None) -> None:
    """Refuse a period that ends before it starts, or has a day out of range (exit 2)."""
    if start is not None:
        check_day(start, "--from")
    if end is not None:
        check_day(end, "--to")
    if start is not None and end is not None and end < start:
        raise RegisterError(f"--to {end.isoformat()} is before --from {start.isoformat()}: "
                            "a period that ends before it starts", "--to")
