"""Problems found in users' input, as values the CLI and notebooks can print.

Each :class:`Issue` knows its file, its row as a spreadsheet shows it (the header is row 1)
and its column, so a commissioner can go straight to the cell. Messages never quote a
sensitive cell or any other cell of the row: the row number is enough to find it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True, order=True)
class Issue:
    """One problem in one place. Warnings are reported but do not stop a run."""

    file: str
    row: int | None
    column: str | None
    message: str
    rule: str = "value"
    severity: Severity = "error"

    def __str__(self) -> str:
        where = [self.file]
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column is not None:
            where.append(f"column {self.column}")
        label = "" if self.severity == "error" else "warning: "
        return f"{', '.join(where)}: {label}{self.message}"


class InputError(Exception):
    """Input that cannot be used; carries every error found, not just the first."""

    #: What the command did about it, said after the errors.
    outcome = "nothing was written."

    def __init__(self, issues: Iterable[Issue]):
        self.issues = sorted(issues, key=_issue_order)
        super().__init__(f"{len(self.errors)} error(s) in the input")

    @property
    def errors(self) -> list[Issue]:
        return [i for i in self.issues if i.severity == "error"]

    def report(self, limit: int = 1000) -> str:
        """All errors (then warnings), one per line, cut at ``limit`` lines with a count."""
        ordered = self.errors + [i for i in self.issues if i.severity != "error"]
        lines = [str(i) for i in ordered[:limit]]
        if len(ordered) > limit:
            lines.append(f"... and {len(ordered) - limit} more")
        return "\n".join(lines)


def _issue_order(issue: Issue) -> tuple[str, int, str, str]:
    return (issue.file, issue.row or 0, issue.column or "", issue.message)


def errors_in(issues: Iterable[Issue]) -> list[Issue]:
    return [i for i in issues if i.severity == "error"]


def not_a_file(path: Path) -> str:
    """Why a path given as an input file cannot be read: a folder is not "not found"."""
    if path.is_dir():
        return "is a folder, not a file"
    return "file not found" if not path.exists() else "is not a regular file"


def shorten(value: str) -> str:
    """A cell shown in a message: at most 30 characters, so that a cell that is really a
    whole row run together (a wrong delimiter, a misaligned column) is never echoed whole."""
    return value if len(value) <= 30 else value[:27] + "..."


def quote_value(value: str) -> str:
    return repr(shorten(value))
